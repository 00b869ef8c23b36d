/**
 * Everything `npm start` runs, as one object that starts and stops in order: Temporal (embedded
 * dev server unless TEMPORAL_ADDRESS), the worker, and the HTTP server. Tests start and stop it
 * in-process; src/main.ts wraps it with signals and terminal output.
 */
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { openWebhookReceiver } from './webhooks/webhook-receiver';
import { BodyBudget } from './webhooks/raw-body';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { Config } from './config/schema';
import type { StepSandbox } from './adapters/local/step-sandbox';
import type { Logger } from './logging';
import { parseDuration } from './duration';
import { projectRoot } from './package-info';
import {
  connectClient,
  connectNative,
  embeddedTarget,
  externalTarget,
  type TemporalTarget,
} from './temporal/connection';
import { startDevServer, type DevServer } from './temporal/dev-server';
import { resolveExecutable } from './temporal/executables';
import { createWorker, installRuntime } from './worker';
import { startHttpServer, type RunningHttpServer } from './http/server';
import { createReadinessProbe, healthRoutes, type ReadinessProbe } from './http/health-routes';
import { logLinkKey, logRoutes, publicBaseUrl } from './http/log-routes';

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
}

export interface RunningApp {
  target: TemporalTarget;
  devServer?: DevServer;
  client: Client;
  worker: Worker;
  http: RunningHttpServer;
  uiUrl?: string;
  /** Resolves when the worker has stopped (after stop(), or if it fails). */
  done: Promise<void>;
  stop(): Promise<void>;
}

export async function startApp(opts: AppOptions): Promise<RunningApp> {
  const { config, logger } = opts;
  const env = opts.env ?? process.env;
  const baseDir = opts.baseDir ?? process.cwd();
  installRuntime(config, logger);
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse())
      await fn().catch((err) => logger.error({ err }, 'cleanup step failed'));
  };

  try {
    // The HTTP server comes up first so /healthz answers while Temporal starts.
    const readiness: { probe?: ReadinessProbe } = {};
    const clients: { current?: Client } = {};
    // Deliveries that arrive before Temporal answers are kept in the outbox and started later.
    const limits = config.server.limits;
    const webhooks = openWebhookReceiver({
      stateDir: path.resolve(baseDir, config.stateDir),
      repositories: config.repositories,
      secret: opts.webhookSecret ?? env.GITHUB_WEBHOOK_SECRET,
      client: () => clients.current,
      taskQueue: config.temporal.taskQueue,
      logger,
      bodyBudget: new BodyBudget({
        maxBodies: limits.unverifiedBodies,
        maxBytes: limits.unverifiedBodyBytes,
        reservedForSmallBytes: Math.floor(limits.unverifiedBodyBytes / 4),
      }),
    });
    const http = await startHttpServer({
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
        ...healthRoutes(() => readiness.probe),
        ...webhooks.routes,
        // The command runner's workDir, as src/pipeline-ports.ts gives it.
        ...logRoutes(
          path.join(path.resolve(baseDir, config.stateDir), 'work'),
          logLinkKey(path.resolve(baseDir, config.stateDir)),
        ),
      ],
      onError: (err, req) => logger.error({ err, url: req.url }, 'request failed'),
    }).catch(async (err) => {
      await webhooks.close();
      throw err;
    });
    cleanups.push(async () => {
      await http.close();
      await webhooks.close();
    });

    let target = externalTarget(env);
    let devServer: DevServer | undefined;
    if (!target) {
      const cli = await resolveExecutable('cli', {
        root: projectRoot,
        env,
        provision: true,
        onProgress: (line) => logger.info(line),
      });
      const dev = config.temporal.devServer;
      const stateDir = path.resolve(baseDir, config.stateDir);
      devServer = await startDevServer({
        cliPath: cli.path,
        port: dev.port,
        uiPort: dev.uiPort,
        dbFile: path.resolve(baseDir, dev.dbFile),
        logFile: path.join(stateDir, 'logs', 'temporal-dev-server.log'),
      });
      const started = devServer;
      cleanups.push(() => started.stop());
      target = embeddedTarget(devServer.address);
      logger.info(
        { address: devServer.address, ui: devServer.uiUrl, pid: devServer.pid },
        'embedded Temporal dev server started',
      );
    }

    // The configured UI wins: behind a proxy the dev server's loopback address is not what people open.
    const uiUrl = config.temporal.uiUrl ?? devServer?.uiUrl;
    const retry = {
      timeoutMs: parseDuration(config.timeouts.connect),
      onRetry: (attempt: number, delayMs: number) =>
        logger.warn({ address: target.address, attempt, delayMs }, 'Temporal not reachable yet; retrying'),
    };
    const connection: NativeConnection = await connectNative(target, retry);
    cleanups.push(() => connection.close());
    const client = await connectClient(target, retry);
    cleanups.push(() => client.connection.close());
    clients.current = client;
    // The outbox's retry loop stops before the client closes: a start retrying into a closed
    // connection would throw from the SDK's timer.
    cleanups.push(() => webhooks.drainer.stop());

    const worker = await createWorker({
      connection,
      client,
      stateDir: path.resolve(baseDir, config.stateDir),
      config,
      ...(uiUrl ? { uiUrl } : {}),
      logsUrl: publicBaseUrl(config.server, http.port),
      env,
      ...(opts.sandbox ? { sandbox: opts.sandbox } : {}),
      namespace: target.namespace,
      taskQueue: config.temporal.taskQueue,
    });
    const done = worker.run().catch((err) => {
      logger.error({ err }, 'worker stopped with an error');
    });
    cleanups.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    });
    readiness.probe = createReadinessProbe(client, config.temporal.taskQueue);
    logger.info(
      { address: target.address, namespace: target.namespace, taskQueue: config.temporal.taskQueue },
      'worker running',
    );

    let stopped: Promise<void> | undefined;
    return {
      target,
      devServer,
      client,
      worker,
      http,
      uiUrl,
      done,
      stop: () => (stopped ??= cleanup()),
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
