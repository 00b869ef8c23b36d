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
import { projectRoot } from '../../src/package-info';
import { releaseSearchAttributes } from '../../src/temporal/search-attributes';
import { workflowsPath } from '../../src/worker';

type Executable = { type: 'existing-path'; path: string } | { type: 'cached-download' };

export function executableFor(kind: ExecutableKind): Executable {
  const found = lookup(kind, { root: projectRoot });
  return Array.isArray(found) ? { type: 'cached-download' } : { type: 'existing-path', path: found.path };
}

/** The Java (or native) time-skipping test server, started by the SDK (it drives the skipping). */
export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  return await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: executableFor('test-server') },
  });
}

export interface DevEnvOptions {
  /** Extra `temporal server start-dev` flags, e.g. a low continue-as-new threshold. */
  extraArgs?: string[];
  dbFilename?: string;
}

/** A real Temporal dev server (in memory unless dbFilename), with our search attributes. */
export async function devServerEnv(opts: DevEnvOptions = {}): Promise<TestWorkflowEnvironment> {
  return await TestWorkflowEnvironment.createLocal({
    server: {
      executable: executableFor('cli'),
      searchAttributes: releaseSearchAttributes,
      extraArgs: opts.extraArgs,
      ...(opts.dbFilename ? { dbFilename: opts.dbFilename } : {}),
    },
  });
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
