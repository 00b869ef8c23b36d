/**
 * `npm run setup:temporal`: find or provide both Temporal executables, with progress output.
 * A second run finds them in .tools/ and is instant.
 *   --only cli|test-server   provide just one
 *   --quiet                  print only problems and the final paths
 */
import { projectRoot } from '../common/package-info';
import { ExecutableNotFound, resolveExecutable, type ExecutableKind } from './executables';

async function setup(argv: string[]): Promise<number> {
  const onlyIndex = argv.indexOf('--only');
  const only = onlyIndex >= 0 ? (argv[onlyIndex + 1] as ExecutableKind) : undefined;
  const quiet = argv.includes('--quiet');
  const kinds: ExecutableKind[] = only ? [only] : ['cli', 'test-server'];
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
  return failed ? 1 : 0;
}

void setup(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
