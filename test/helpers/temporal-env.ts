/**
 * Temporal environments for tests, from the same resolver as the product: the time-skipping
 * test server (workflow tests) and a real dev server (replay recording, e2e). When neither an
 * env var, PATH, .tools/ nor an SDK cache has the executable, the SDK's own download is used
 * (works on a machine with internet; `npm test` provisions first so it is not needed here).
 */
import './runtime';
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { lookup, type ExecutableKind } from '../../src/temporal/executables';
import { projectRoot } from '../../src/common/package-info';
import { releaseSearchAttributes } from '../../src/temporal/search-attributes';
import { workflowsPath } from '../../src/worker';

type Executable = { type: 'existing-path'; path: string } | { type: 'cached-download' };

export function executableFor(kind: ExecutableKind): Executable {
  const found = lookup(kind, { root: projectRoot });
  return Array.isArray(found) ? { type: 'cached-download' } : { type: 'existing-path', path: found.path };
}

/**
 * The SDK looks up a free port and the server binds it a moment later; another process can
 * take it in between (other suites run on this machine too). A failed start is tried again,
 * and the SDK picks a fresh port each time.
 */
async function withFreshPortRetry<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= attempts) throw err;
    }
  }
}

/** The Java (or native) time-skipping test server, started by the SDK (it drives the skipping). */
export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  return await withFreshPortRetry(() =>
    TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: executableFor('test-server') },
    }),
  );
}

export interface DevEnvOptions {
  /** Extra `temporal server start-dev` flags, e.g. a low continue-as-new threshold. */
  extraArgs?: string[];
  dbFilename?: string;
}

/** A real Temporal dev server (in memory unless dbFilename), with our search attributes. */
export async function devServerEnv(opts: DevEnvOptions = {}): Promise<TestWorkflowEnvironment> {
  return await withFreshPortRetry(() =>
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: executableFor('cli'),
        searchAttributes: releaseSearchAttributes,
        extraArgs: opts.extraArgs,
        ...(opts.dbFilename ? { dbFilename: opts.dbFilename } : {}),
      },
    }),
  );
}

let bundle: Promise<WorkflowBundle> | undefined;

/**
 * The workflow bundle the worker ships, built once per suite rather than once per file: bundling
 * takes seconds of CPU and most workflow, replay and e2e files need it. The first process to need
 * it leaves the code in the temp directory under a hash of all it is made of (every file under
 * src/, the lock file of the installed SDK); processes after it read that. An edit anywhere in
 * src/ or an install changes the hash, so a stale bundle is never used.
 */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= cachedBundle();
  return bundle;
}

const bundleCacheDir = path.join(os.tmpdir(), 'release-flow-test-bundles');

async function cachedBundle(): Promise<WorkflowBundle> {
  const file = path.join(bundleCacheDir, `${bundleInputsHash()}.js`);
  try {
    return { code: await readFile(file, 'utf8') };
  } catch {
    // not built yet by this suite (or this checkout's sources)
  }
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger });
  await mkdir(bundleCacheDir, { recursive: true });
  // Written aside, then renamed: a process reading at the same moment sees all of it or nothing.
  const partial = `${file}.${process.pid}.partial`;
  await writeFile(partial, code);
  await rename(partial, file);
  await removeOldBundles(file);
  return { code };
}

function bundleInputsHash(): string {
  const hash = createHash('sha256');
  const files = [path.join(projectRoot, 'package-lock.json'), ...filesUnder(path.join(projectRoot, 'src'))];
  for (const file of files) {
    hash.update(path.relative(projectRoot, file));
    hash.update('\0');
    try {
      hash.update(readFileSync(file));
    } catch {
      hash.update('absent');
    }
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 32);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      return entry.isDirectory() ? filesUnder(full) : [full];
    });
}

/** Bundles of earlier sources, a day old: the temp directory does not grow with every edit. */
async function removeOldBundles(keep: string): Promise<void> {
  const dayAgo = Date.now() - 24 * 60 * 60 * 1000;
  for (const name of await readdir(bundleCacheDir).catch(() => [])) {
    const file = path.join(bundleCacheDir, name);
    if (file === keep) continue;
    const { mtimeMs } = await stat(file).catch(() => ({ mtimeMs: Date.now() }));
    if (mtimeMs < dayAgo) await rm(file, { force: true });
  }
}

const noop = () => {};
const quietBundlerLogger = {
  log: noop,
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: console.error,
};

/** A task queue (or id) no other test shares. */
export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
