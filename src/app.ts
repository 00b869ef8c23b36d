/**
 * The roles of release-flow as one object that starts and stops in order: Temporal (embedded
 * dev server unless TEMPORAL_ADDRESS, `start-all` only), the worker (`worker`, `start-all`), and
 * the HTTP server with the receiver and its outbox (`serve`, `start-all`). The HTTP server comes
 * up before Temporal answers and keeps queueing deliveries while Temporal is away; the worker
 * connects when Temporal appears. Tests start and stop it in-process; the role commands
 * (cli/role-commands.ts, cli/start-all-command.ts) wrap it with signals and terminal output.
 */
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { openWebhookReceiver } from './http/webhooks/webhook-receiver';
import { BodyBudget } from './http/webhooks/raw-body';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { Config } from './config/schema';
import type { StepSandbox } from './adapters/local/step-sandbox';
import type { Logger } from './common/logging';
import { parseDuration } from './common/duration';
import { isUserError } from './common/errors';
import { projectRoot } from './common/package-info';
import {
  connectClient,
  connectNative,
  embeddedTarget,
  externalTarget,
  type TemporalTarget,
} from './temporal/connection';
import { startDevServer, type DevServer } from './temporal/dev-server';
import { resolveExecutable } from './temporal/executables';
import { createWorker, installRuntime, stopOnSignals } from './worker';
import { adoptVersion, setCurrentPolicy, type WorkerDeployment } from './temporal/worker-deployments';
import { startHttpServer, type RunningHttpServer } from './http/server';
import { createReadinessProbe, healthRoutes, type ReadinessProbe } from './http/health-routes';
import { logLinkKey, logRoutes, publicBaseUrl } from './http/log-routes';
import { openBoard } from './http/board/open-board';

/** What one process runs: `worker` (workers only), `serve` (HTTP, receiver, outbox), or both. */
export interface AppRoles {
  worker: boolean;
  server: boolean;
}

export const AllRoles: AppRoles = { worker: true, server: true };

export interface AppOptions {
  config: Readonly<Config>;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** Directory relative paths in the config resolve against (default: cwd). */
  baseDir?: string;
  /** The webhook secret (default GITHUB_WEBHOOK_SECRET); the demo makes one of its own. */
  webhookSecret?: string;
  /** Where steps run (default: from `config.sandbox`). */
  sandbox?: StepSandbox;
  /** Default: everything (`start-all`). */
  roles?: AppRoles;
  /** This build as a worker deployment version (Worker Versioning); unset: unversioned. */
  deployment?: WorkerDeployment;
}

export interface RunningApp {
  target: TemporalTarget;
  devServer?: DevServer;
  client: Client;
  /** Absent in the `serve` role. */
  worker?: Worker;
  /** Absent in the `worker` role. */
  http?: RunningHttpServer;
  uiUrl?: string;
  /** Resolves when the app has stopped (after stop(), or when its worker fails). */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** The app before Temporal answered: HTTP (when served) is up and deliveries queue in the outbox. */
export interface BootedApp {
  target: TemporalTarget;
  devServer?: DevServer;
  http?: RunningHttpServer;
  uiUrl?: string;
  /** Resolves once connected (and, with the worker role, once the worker runs). */
  connected: Promise<RunningApp>;
  /** Rejects with the first TEMPORAL_UNREACHABLE after `timeouts.connect`; retries go on regardless. */
  firstGiveUp: Promise<never>;
  /** Resolves when the app has stopped. */
  done: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts every role and waits for Temporal: with the cluster unreachable for `timeouts.connect`
 * it stops what it started and rejects with TEMPORAL_UNREACHABLE (for callers that need a
 * connected app at once; `bootApp` keeps waiting instead).
 */
export async function startApp(opts: AppOptions): Promise<RunningApp> {
  const booted = await bootApp(opts);
  try {
    return await Promise.race([booted.connected, booted.firstGiveUp]);
  } catch (err) {
    await booted.stop();
    throw err;
  }
}

export interface RunHooks {
  /** The HTTP server is up (when served); Temporal may not answer yet. */
  onBooted?: (booted: BootedApp) => void;
  /** Temporal answered (and, with the worker role, the worker runs). */
  onConnected?: (app: RunningApp) => void;
  /** A signal stopped everything in order. */
  onStopped: () => void;
}

/**
 * What every role command runs: boots the app, stops it in order on SIGINT/SIGTERM, and
 * resolves when it has stopped. A signal while Temporal is still away is a normal end; the app
 * failing to come up otherwise stops what it started and rejects.
 */
export async function runUntilStopped(opts: AppOptions, hooks: RunHooks): Promise<void> {
  const booted = await bootApp(opts);
  let stopRequested = false;
  stopOnSignals(async () => {
    stopRequested = true;
    await booted.stop();
    hooks.onStopped();
  }, opts.logger);
  hooks.onBooted?.(booted);
  let app: RunningApp;
  try {
    app = await booted.connected;
  } catch (err) {
    if (stopRequested) return await booted.done;
    await booted.stop();
    throw err;
  }
  hooks.onConnected?.(app);
  await app.done;
}

export async function bootApp(opts: AppOptions): Promise<BootedApp> {
  const { config, logger } = opts;
  const env = opts.env ?? process.env;
  const baseDir = opts.baseDir ?? process.cwd();
  const roles = opts.roles ?? AllRoles;
  const stateDir = path.resolve(baseDir, config.stateDir);
  installRuntime(config, logger);
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse())
      await fn().catch((err) => logger.error({ err }, 'cleanup step failed'));
  };
  let stopping = false;
  let stopped: Promise<void> | undefined;
  let markDone: () => void = () => {};
  const done = new Promise<void>((resolve) => (markDone = resolve));
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      await cleanup();
      markDone();
    })());

  try {
    const readiness: { probe?: ReadinessProbe; reason: string } = { reason: 'connecting to Temporal' };
    const clients: { current?: Client } = {};
    const temporal: { namespace: string; uiUrl?: string } = { namespace: 'default' };
    let http: RunningHttpServer | undefined;
    let drainer: { stop(): Promise<void> } | undefined;
    if (roles.server) {
      const limits = config.server.limits;
      // The HTTP server comes up first so /healthz answers while Temporal starts, and deliveries
      // that arrive before Temporal answers are kept in the outbox and started later.
      const webhooks = openWebhookReceiver({
        stateDir,
        repositories: config.repositories,
        secret: opts.webhookSecret ?? env.GITHUB_WEBHOOK_SECRET,
        client: () => clients.current,
        taskQueue: config.temporal.taskQueue,
        logger,
        startTimeoutMs: parseDuration(limits.webhookStartTimeout),
        maxStartsInFlight: limits.webhookStartsInFlight,
        bodyBudget: new BodyBudget({
          maxBodies: limits.unverifiedBodies,
          maxBytes: limits.unverifiedBodyBytes,
          reservedForSmallBytes: Math.floor(limits.unverifiedBodyBytes / 4),
        }),
      });
      const board = openBoard({
        config,
        stateDir,
        baseDir,
        env,
        logger,
        client: () => clients.current,
        namespace: () => temporal.namespace,
        uiUrl: () => temporal.uiUrl,
      });
      const server = await startHttpServer({
        host: config.server.host,
        port: config.server.port,
        limits: {
          requestTimeoutMs: parseDuration(limits.requestTimeout),
          headersTimeoutMs: parseDuration(limits.headersTimeout),
          keepAliveTimeoutMs: parseDuration(limits.keepAliveTimeout),
          maxRequestsPerSocket: limits.maxRequestsPerSocket,
          maxConnections: limits.maxConnections,
        },
        routes: [
          ...healthRoutes(
            () => readiness.probe,
            () => readiness.reason,
          ),
          ...webhooks.routes,
          // The command runner's workDir, as src/composition/pipeline-ports.ts gives it.
          ...logRoutes(path.join(stateDir, 'work'), logLinkKey(stateDir)),
          ...board.routes,
        ],
        onError: (err, req) => logger.error({ err, url: req.url }, 'request failed'),
      }).catch(async (err) => {
        await webhooks.close();
        throw err;
      });
      http = server;
      drainer = webhooks.drainer;
      cleanups.push(async () => {
        await server.close();
        await webhooks.close();
      });
    }

    let target = externalTarget(env);
    let devServer: DevServer | undefined;
    if (!target && roles.worker && roles.server) {
      const cli = await resolveExecutable('cli', {
        root: projectRoot,
        env,
        provision: true,
        onProgress: (line) => logger.info(line),
      });
      const dev = config.temporal.devServer;
      devServer = await startDevServer({
        cliPath: cli.path,
        port: dev.port,
        uiPort: dev.uiPort,
        dbFile: path.resolve(baseDir, dev.dbFile),
        logFile: path.join(stateDir, 'logs', 'temporal-dev-server.log'),
      });
      const started = devServer;
      cleanups.unshift(() => started.stop());
      target = embeddedTarget(devServer.address);
      logger.info(
        { address: devServer.address, ui: devServer.uiUrl, pid: devServer.pid },
        'embedded Temporal dev server started',
      );
    }
    // A single role without TEMPORAL_ADDRESS joins the dev server `start-all` runs on this machine.
    const reached = target ?? embeddedTarget(`127.0.0.1:${config.temporal.devServer.port}`);

    // The configured UI wins: behind a proxy the dev server's loopback address is not what people open.
    const uiUrl = config.temporal.uiUrl ?? devServer?.uiUrl;
    temporal.uiUrl = uiUrl;
    temporal.namespace = reached.namespace;
    let rejectGiveUp: (err: unknown) => void = () => {};
    const firstGiveUp = new Promise<never>((_, reject) => (rejectGiveUp = reject));
    firstGiveUp.catch(() => {});
    const retry = {
      timeoutMs: parseDuration(config.timeouts.connect),
      onRetry: (attempt: number, delayMs: number, err: unknown) => {
        readiness.reason = `Temporal at ${reached.address} not reachable yet: ${
          err instanceof Error ? err.message.split('\n')[0] : String(err)
        }`;
        logger.warn({ address: reached.address, attempt, delayMs }, 'Temporal not reachable yet; retrying');
      },
    };
    /** Retries past each bounded attempt until connected or stopped: a boot never gives up. */
    const untilConnected = async <T>(connect: () => Promise<T>): Promise<T> => {
      for (;;) {
        try {
          return await connect();
        } catch (err) {
          if (!isUserError(err) || stopping) throw err;
          rejectGiveUp(err);
          readiness.reason = err.message;
          logger.error({ err: err.message }, 'Temporal still unreachable; deliveries wait in the outbox');
        }
      }
    };

    const connected = (async (): Promise<RunningApp> => {
      const client = await untilConnected(() => connectClient(reached, retry));
      cleanups.push(() => client.connection.close());
      // The outbox's retry loop stops before the client closes: a start retrying into a closed
      // connection would throw from the SDK's timer.
      const outboxDrainer = drainer;
      if (outboxDrainer) cleanups.push(() => outboxDrainer.stop());
      if (stopping) throw new Error('stopped before Temporal answered');
      clients.current = client;
      let worker: Worker | undefined;
      let workerDone: Promise<void> = done;
      if (roles.worker) {
        const connection: NativeConnection = await untilConnected(() => connectNative(reached, retry));
        cleanups.push(() => connection.close());
        const running = await createWorker({
          connection,
          client,
          stateDir,
          config,
          ...(uiUrl ? { uiUrl } : {}),
          // Build logs are served by this process's HTTP server, or by the one named to serve them.
          ...(http
            ? { logsUrl: publicBaseUrl(config.server, http.port) }
            : config.server.publicUrl
              ? { logsUrl: config.server.publicUrl }
              : {}),
          env,
          ...(opts.sandbox ? { sandbox: opts.sandbox } : {}),
          namespace: reached.namespace,
          taskQueue: config.temporal.taskQueue,
          ...(opts.deployment ? { deployment: opts.deployment } : {}),
        });
        worker = running;
        workerDone = running.run().catch((err) => {
          logger.error({ err }, 'worker stopped with an error');
        });
        const ran = workerDone;
        cleanups.push(async () => {
          if (running.getState() === 'RUNNING') running.shutdown();
          await ran;
        });
        logger.info(
          {
            address: reached.address,
            namespace: reached.namespace,
            taskQueue: config.temporal.taskQueue,
            ...(opts.deployment ? { deployment: opts.deployment } : {}),
          },
          'worker running',
        );
        if (opts.deployment) {
          const deployment = opts.deployment;
          // Once the worker polls, its version exists on the server and can become current.
          void adoptVersion(client, deployment, setCurrentPolicy(env), logger, () => stopping).catch((err) =>
            logger.error({ err, deployment }, 'could not make this build the current deployment version'),
          );
        }
      }
      readiness.probe = createReadinessProbe(client, config.temporal.taskQueue);
      return {
        target: reached,
        devServer,
        client,
        ...(worker ? { worker } : {}),
        ...(http ? { http } : {}),
        uiUrl,
        done: worker ? workerDone : done,
        stop,
      };
    })();
    connected.catch(() => {});
    return {
      target: reached,
      devServer,
      ...(http ? { http } : {}),
      uiUrl,
      connected,
      firstGiveUp,
      done,
      stop,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
