/**
 * Temporal environments for tests, from the same resolver as the product: the time-skipping
 * test server (workflow tests) and a real dev server (replay recording, e2e). When neither an
 * env var, PATH, .tools/ nor an SDK cache has the executable, the SDK's own download is used
 * (works on a machine with internet; `npm test` provisions first so it is not needed here).
 */
import './runtime';
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
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

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow bundle the worker ships, built once per test process. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger });
  return bundle;
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
