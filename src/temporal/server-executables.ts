/**
 * The real Temporal server (not the CLI's dev server), for the production topology on one
 * machine (`npm run topology`, docs/running-in-production.md "A production topology on this
 * machine"): `temporal-server` and `temporal-sql-tool` built from the Go module proxy at the
 * version docker-compose.yml pins, with the PostgreSQL schema and the config the server ships,
 * all copied into `.tools/temporal-server/<version>/` so nothing depends on Go's module cache
 * staying. Opt-in: `npm run setup:temporal -- --server` (a large build: minutes on 2 cores).
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

/** The version docker-compose.yml pins (`TEMPORAL_VERSION`): one server version in the project. */
export const TEMPORAL_SERVER_VERSION = 'v1.31.0';
export const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server';

export interface ServerInstall {
  version: string;
  home: string;
  /** `go.temporal.io/server/cmd/server`. */
  server: string;
  /** `go.temporal.io/server/cmd/tools/sql`. */
  sqlTool: string;
  /** `schema/postgresql/v12` of the module: `temporal/` and `visibility/`, each with `versioned/`. */
  postgresSchema: string;
  /** `config/` of the module: `development-postgres12.yaml` and `dynamicconfig/`. */
  configDir: string;
}

/** Where a version lives: `.tools/temporal-server/<version>/` (`.tools` may link to a machine-wide cache). */
export function serverInstall(root: string, version = TEMPORAL_SERVER_VERSION): ServerInstall {
  const home = path.join(root, '.tools', 'temporal-server', version);
  return {
    version,
    home,
    server: path.join(home, 'bin', 'temporal-server'),
    sqlTool: path.join(home, 'bin', 'temporal-sql-tool'),
    postgresSchema: path.join(home, 'schema', 'postgresql', 'v12'),
    configDir: path.join(home, 'config'),
  };
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** What is missing of an install (empty: complete). */
export function missingParts(install: ServerInstall): string[] {
  const missing: string[] = [];
  if (!isExecutable(install.server)) missing.push(install.server);
  if (!isExecutable(install.sqlTool)) missing.push(install.sqlTool);
  for (const dir of ['temporal/versioned', 'visibility/versioned']) {
    const full = path.join(install.postgresSchema, dir);
    if (!existsSync(full)) missing.push(full);
  }
  return missing;
}

/** The install when complete, else undefined (a lookup: no build, no network). */
export function findServer(root: string, version = TEMPORAL_SERVER_VERSION): ServerInstall | undefined {
  const install = serverInstall(root, version);
  return missingParts(install).length === 0 ? install : undefined;
}

async function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.on('error', (err) => reject(new Error(`cannot run ${cmd}: ${err.message}`)));
    child.on('exit', (code, signal) =>
      code === 0
        ? resolve(out.trim())
        : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? signal}`)),
    );
  });
}

/**
 * Builds what is missing of the install and returns it; a complete install is returned at once.
 * The build runs at the lowest CPU priority (`nice -n 19`): it takes minutes and the machine
 * has other work.
 */
export async function provisionServer(
  root: string,
  opts: { env?: NodeJS.ProcessEnv; onProgress?: (line: string) => void; version?: string } = {},
): Promise<ServerInstall> {
  const version = opts.version ?? TEMPORAL_SERVER_VERSION;
  const install = serverInstall(root, version);
  const progress = opts.onProgress ?? (() => {});
  const env = opts.env ?? process.env;
  if (missingParts(install).length === 0) return install;

  const bin = path.dirname(install.server);
  if (!isExecutable(install.server) || !isExecutable(install.sqlTool)) {
    // Built into a directory of its own, then renamed: `go install` names the binaries after
    // their package directories (`server`, `sql`), and a build cut short leaves no half file at
    // the final names.
    const gobin = path.join(install.home, '.gobin');
    rmSync(gobin, { recursive: true, force: true });
    mkdirSync(gobin, { recursive: true });
    mkdirSync(bin, { recursive: true });
    const packages = [`${TEMPORAL_SERVER_MODULE}/cmd/server`, `${TEMPORAL_SERVER_MODULE}/cmd/tools/sql`].map(
      (p) => `${p}@${version}`,
    );
    progress(
      `[server] building the Temporal server: go install ${packages.join(' ')} (minutes on a cold cache) ...`,
    );
    const started = Date.now();
    const buildEnv = { ...env, CGO_ENABLED: '0', GOBIN: gobin, GOFLAGS: '-buildvcs=false' };
    const [cmd, ...args] = niceArgv(['go', 'install', ...packages]);
    await run(cmd!, args, buildEnv);
    renameSync(path.join(gobin, 'server'), install.server);
    renameSync(path.join(gobin, 'sql'), install.sqlTool);
    rmSync(gobin, { recursive: true, force: true });
    progress(
      `[server] built ${install.server} and ${install.sqlTool} in ${((Date.now() - started) / 1000).toFixed(0)}s`,
    );
  }

  if (missingParts(install).length > 0) {
    // The schema and the configs come from the module's source, which the build downloaded.
    const modCache = await run('go', ['env', 'GOMODCACHE'], env);
    let moduleDir = path.join(modCache, `${TEMPORAL_SERVER_MODULE}@${version}`);
    if (!existsSync(moduleDir)) {
      progress(`[server] go mod download ${TEMPORAL_SERVER_MODULE}@${version} (for its schema) ...`);
      const json = await run('go', ['mod', 'download', '-json', `${TEMPORAL_SERVER_MODULE}@${version}`], env);
      moduleDir = (JSON.parse(json) as { Dir: string }).Dir;
    }
    rmSync(path.join(install.home, 'schema'), { recursive: true, force: true });
    cpSync(path.join(moduleDir, 'schema', 'postgresql', 'v12'), install.postgresSchema, { recursive: true });
    rmSync(install.configDir, { recursive: true, force: true });
    mkdirSync(path.join(install.configDir, 'dynamicconfig'), { recursive: true });
    for (const file of ['development-postgres12.yaml', path.join('dynamicconfig', 'development-sql.yaml')]) {
      cpSync(path.join(moduleDir, 'config', file), path.join(install.configDir, file));
    }
    progress(`[server] schema and configs copied to ${install.home}`);
  }
  const missing = missingParts(install);
  if (missing.length > 0)
    throw new Error(`the Temporal server install is incomplete: missing ${missing.join(', ')}`);
  return install;
}

/** `nice -n 19 ARGV` where nice exists. */
function niceArgv(argv: string[]): string[] {
  for (const dir of ['/usr/bin', '/bin']) {
    if (isExecutable(path.join(dir, 'nice'))) return [path.join(dir, 'nice'), '-n', '19', ...argv];
  }
  return argv;
}
