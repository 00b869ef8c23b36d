/**
 * `npm run setup:temporal`: find or provide both Temporal executables, with progress output.
 * A second run finds them in .tools/ and is instant.
 *   --only cli|test-server   provide just one
 *   --quiet                  print only problems and the final paths
 *   --server                 also the real Temporal server and its SQL tool (opt-in, a large
 *                            build: see server-executables.ts); `--only server` for just that
 */
import { projectRoot } from '../common/package-info';
import { ExecutableNotFound, resolveExecutable, type ExecutableKind } from './executables';
import { provisionServer } from './server-executables';

async function setup(argv: string[]): Promise<number> {
  const onlyIndex = argv.indexOf('--only');
  const onlyArg = onlyIndex >= 0 ? argv[onlyIndex + 1] : undefined;
  const only = onlyArg === 'server' ? undefined : (onlyArg as ExecutableKind | undefined);
  const quiet = argv.includes('--quiet');
  const server = argv.includes('--server') || onlyArg === 'server';
  const kinds: ExecutableKind[] = onlyArg === 'server' ? [] : only ? [only] : ['cli', 'test-server'];
  let failed = false;
  for (const kind of kinds) {
    const started = Date.now();
    try {
      const resolved = await resolveExecutable(kind, {
        root: projectRoot,
        provision: true,
        onProgress: (line) => console.log(line),
      });
      const took = ((Date.now() - started) / 1000).toFixed(1);
      if (!quiet || resolved.source === 'registry-build' || resolved.source === 'sdk-download') {
        console.log(`[${kind}] ${resolved.path} (from ${resolved.source}, ${took}s)`);
      }
    } catch (err) {
      failed = true;
      console.error(err instanceof ExecutableNotFound ? err.message : err);
    }
  }
  if (server) {
    const started = Date.now();
    try {
      const install = await provisionServer(projectRoot, { onProgress: (line) => console.log(line) });
      const took = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`[server] ${install.server}, ${install.sqlTool} (${install.version}, ${took}s)`);
    } catch (err) {
      failed = true;
      console.error(`[server] ${err instanceof Error ? err.message : String(err)}`);
      console.error('[server] needs Go (go.mod of the server asks for a recent one) and the Go module proxy');
    }
  }
  return failed ? 1 : 0;
}

void setup(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
