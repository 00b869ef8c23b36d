/**
 * The worker: config -> adapters -> activities -> Worker. Run alone with `npm run worker`
 * (needs TEMPORAL_ADDRESS or a server on 127.0.0.1:7233) or embedded by `npm start`.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { IllegalStateError } from '@temporalio/common';
import {
  type NativeConnection,
  Runtime,
  Worker,
  type ActivityInterceptorsFactory,
  type WorkerOptions,
} from '@temporalio/worker';
import { createActivities } from './activities';
import { createLocalFencedResource } from './adapters/local/fenced-resource';
import type { FencedResource } from './ports/fenced-resource';
import type { Config } from './config/schema';
import { loadConfig, validateConfig } from './config/load';
import type { StepSandbox } from './adapters/local/step-sandbox';
import { maskingInterceptor } from './temporal/masking-interceptor';
import { registerSecretNames, secretEnvNames } from './common/secrets';
import { definitiveAccessInterceptor } from './activities/definitive';
import { createLocalPipelinePorts } from './composition/pipeline-ports';
import { isUserError } from './common/errors';
import { logLinkKey, logLinks } from './http/log-routes';
import { createLogger, sdkLogger, type Logger } from './common/logging';
import { connectClient, connectNative, embeddedTarget, externalTarget } from './temporal/connection';
import { parseDuration } from './common/duration';
import { attemptJournalInterceptor, failOrphanedAttempts } from './temporal/attempt-journal';
import type { WorkerDeployment } from './temporal/worker-deployments';

// Compiled (dist/worker.js) beside dist/workflows/index.js, or the TypeScript source in a checkout.
export const workflowsPath = path.join(__dirname, 'workflows', `index${path.extname(__filename) || '.js'}`);

/** The workflow bundle `npm run build` writes beside the compiled worker; absent in a checkout. */
export const prebuiltBundlePath = path.join(__dirname, 'workflow-bundle.js');

/**
 * How a worker finds its workflow code: the prebuilt bundle of a build (no bundling at start),
 * else bundling the sources at start as a checkout always has.
 */
export function workflowCodeOption(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  return existsSync(prebuiltBundlePath)
    ? { workflowBundle: { codePath: prebuiltBundlePath } }
    : { workflowsPath };
}

let runtimeInstalled = false;

/**
 * Install the SDK runtime once per process, before any connection: SDK logs go to our logger and,
 * when configured, metrics to a Prometheus endpoint. Signals are ours to handle (ordered shutdown).
 */
export function installRuntime(config: Pick<Config, 'metrics'>, logger: Logger): void {
  if (runtimeInstalled) return;
  const bindAddress = config.metrics.prometheusBindAddress;
  try {
    Runtime.install({
      // The SDK's info lines (bundler output, worker state changes) are debug detail for us.
      logger: sdkLogger(logger.child({ component: 'temporal-sdk' }, { level: sdkLevel(logger.level) })),
      shutdownSignals: [],
      ...(bindAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress } } } } : {}),
    });
  } catch (err) {
    // A host process (a test runner, an embedding app) installed its own runtime first: keep it.
    if (!(err instanceof IllegalStateError)) throw err;
    logger.debug('SDK runtime already installed by the host process; using it');
    return;
  } finally {
    runtimeInstalled = true;
  }
  if (bindAddress)
    logger.info({ url: `http://${bindAddress}/metrics` }, 'SDK metrics exposed for Prometheus');
}

function sdkLevel(appLevel: string): string {
  return appLevel === 'debug' || appLevel === 'trace' || appLevel === 'silent' ? appLevel : 'warn';
}

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  identity?: string;
  /** Prebuilt bundle (tests bundle once); otherwise the worker bundles workflowsPath. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Activities use it to signal-with-start lock workflows and describe lock holders. */
  client: Client;
  /** Where local adapters keep their state (default `.release-flow`). */
  stateDir?: string;
  /** The fenced resource staging deploys go through (default: files under stateDir/fenced). */
  fencedResource?: FencedResource;
  /** Repositories and their commands (default: none configured). */
  config?: Readonly<Config>;
  /** Root of the Temporal UI, for links in alerts and statuses. */
  uiUrl?: string;
  /**
   * Root URL of the HTTP server that serves this worker's build logs (`GET /logs/...`); without
   * it `release-flow/build` links to the Temporal UI instead.
   */
  logsUrl?: string;
  /** Where GitHub credentials are read (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Where steps run (default: from `config.sandbox`; the demo without bubblewrap runs them as the worker). */
  sandbox?: StepSandbox;
  /** More activity interceptors, inside the attempt journal (the chaos suite kills from one). */
  activityInterceptors?: ActivityInterceptorsFactory[];
  /**
   * Poll as this deployment version (Worker Versioning): pipelines stay pinned to the version
   * they started on; without it the worker is unversioned.
   */
  deployment?: WorkerDeployment;
}

export function workerIdentity(): string {
  return `release-flow@${os.hostname()}:${process.pid}`;
}

export async function createWorker(opts: CreateWorkerOptions): Promise<Worker> {
  const identity = opts.identity ?? workerIdentity();
  const stateDir = path.resolve(opts.stateDir ?? '.release-flow');
  const fencedResource = opts.fencedResource ?? createLocalFencedResource(path.join(stateDir, 'fenced'));
  const config = opts.config ?? validateConfig({}, {});
  // Every variable the configuration names as a secret is masked like the fixed ones.
  registerSecretNames(secretEnvNames(config));
  const worker = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    identity,
    activities: createActivities({
      identity,
      client: opts.client,
      fencedResource,
      ...createLocalPipelinePorts({
        config,
        stateDir,
        fencedResource,
        ...(opts.uiUrl ? { uiUrl: opts.uiUrl } : {}),
        ...(opts.env ? { env: opts.env } : {}),
        ...(opts.sandbox ? { sandbox: opts.sandbox } : {}),
      }),
      ...(opts.logsUrl ? { logUrl: logLinks(opts.logsUrl, logLinkKey(stateDir)) } : {}),
      ...(opts.deployment ? { lockVersioningOverride: 'AUTO_UPGRADE' as const } : {}),
    }),
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : workflowCodeOption()),
    ...(opts.deployment
      ? {
          workerDeploymentOptions: {
            useWorkerVersioning: true,
            version: opts.deployment,
            // A release keeps the code it started with; lock workflows move at continue-as-new.
            defaultVersioningBehavior: 'PINNED',
          },
        }
      : {}),
    // Nothing an activity returns or throws leaves with a secret in it (docs/threat-model.md).
    // GitHub refusing the token is definitive at once (docs/integrations.md "GitHub"); the masking runs outermost.
    // In-flight activities get this long to finish on SIGINT/SIGTERM before they are cancelled.
    shutdownGraceTime: '10 seconds',
    // Heartbeats carry cancellation: a preempted pipeline's tests must stop within seconds, not
    // 80% of a one-minute heartbeat timeout.
    maxHeartbeatThrottleInterval: '5 seconds',
    shutdownForceTime: '30 seconds',
    // Journals running attempts so the next worker fails a crashed one's at once (docs/pipelines-and-decisions.md "Crash safety").
    interceptors: {
      activity: [
        maskingInterceptor(opts.env ?? process.env),
        attemptJournalInterceptor(stateDir),
        definitiveAccessInterceptor(),
        ...(opts.activityInterceptors ?? []),
      ],
    },
  });
  await failOrphanedAttempts(opts.client, opts.namespace, stateDir, { identity, taskQueue: opts.taskQueue });
  return worker;
}

/**
 * Stop on the first SIGINT/SIGTERM. A Ctrl-C reaches us twice (from the terminal to the whole
 * process group, and forwarded by npm), so repeats within a few seconds are the same request;
 * a signal after that exits at once for a person who really wants out.
 */
export function stopOnSignals(stop: (signal: NodeJS.Signals) => Promise<void>, logger: Logger): void {
  let firstAt: number | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (firstAt !== undefined) {
      if (Date.now() - firstAt < 3_000) return;
      logger.warn({ signal }, 'another signal while stopping: exiting now');
      process.exit(130);
    }
    firstAt = Date.now();
    logger.info({ signal }, 'shutting down');
    stop(signal).catch((err) => {
      logger.error({ err }, 'error while shutting down');
      process.exitCode = 1;
    });
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

async function runStandalone(): Promise<void> {
  const { config } = loadConfig();
  const logger = createLogger(config.log.level);
  installRuntime(config, logger);
  const target = externalTarget() ?? embeddedTarget('127.0.0.1:7233');
  const retry = {
    timeoutMs: parseDuration(config.timeouts.connect),
    onRetry: (attempt: number, delayMs: number) =>
      logger.warn({ address: target.address, attempt, delayMs }, 'Temporal not reachable yet; retrying'),
  };
  const connection = await connectNative(target, retry);
  const client = await connectClient(target, retry);
  const worker = await createWorker({
    connection,
    client,
    namespace: target.namespace,
    taskQueue: config.temporal.taskQueue,
    stateDir: config.stateDir,
    config,
    ...(config.temporal.uiUrl ? { uiUrl: config.temporal.uiUrl } : {}),
    // No HTTP server in this process: logs are linked only when another one is named to serve them.
    ...(config.server.publicUrl ? { logsUrl: config.server.publicUrl } : {}),
  });
  stopOnSignals(async () => worker.shutdown(), logger);
  logger.info(
    { address: target.address, namespace: target.namespace, taskQueue: config.temporal.taskQueue },
    'worker running',
  );
  await worker.run();
  await client.connection.close();
  await connection.close();
  logger.info('worker stopped');
}

if (require.main === module) {
  runStandalone().catch((err) => {
    if (isUserError(err)) console.error(`release-flow: ${err.render()}`);
    else console.error(err);
    process.exit(1);
  });
}
