/**
 * `npm start` (`release-flow start-all`): the embedded Temporal dev server (unless
 * TEMPORAL_ADDRESS), the worker, the HTTP server (health, readiness, GitHub webhooks) and, with
 * no configuration file, the demo: a local repository taken through a whole release. Temporal
 * unreachable at boot is waited for (the receiver queues deliveries meanwhile). Exits non-zero
 * with one clear line for a user's mistake.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { chooseSandbox, noSandbox } from '../adapters/local/step-sandbox';
import { hashToken, newToken } from '../http/board/token-hash';
import { demoConfigPath, loadConfig, validateConfig } from '../config/load';
import { writeFileAtomic } from '../adapters/local/durable-files';
import type { Config } from '../config/schema';
import { demoRepositoryConfig, ensureDemoRepository, type DemoPullRequest } from '../demo/demo-repository';
import { runDemo } from '../demo/run-demo';
import { writeDemoReceiver } from '../demo/demo-receiver';
import { madeOnce } from '../common/made-once-file';
import { createLogger, type Logger } from '../common/logging';
import { runUntilStopped, type RunningApp } from '../app';
import type { WorkerDeployment } from '../temporal/worker-deployments';
import { WEBHOOK_PATH } from '../http/webhooks/webhook-routes';

interface Demo {
  releases: string[];
  pullRequest: DemoPullRequest;
  secret: string;
  /** The demo's board sign-in: name `you` and this token. */
  boardToken: string;
}

/** No config file and no repositories: serve the demo repository (RELEASE_FLOW_DEMO=0 turns it off, =1 on). */
async function withDemo(config: Readonly<Config>, file: string | undefined, logger: Logger) {
  // RELEASE_FLOW_DEMO=1 runs the demo beside a file that sets only ports and paths (benchmarks).
  const forced = process.env.RELEASE_FLOW_DEMO === '1';
  if ((file && !forced) || config.repositories.length || process.env.RELEASE_FLOW_DEMO === '0')
    return { config };
  const repo = await ensureDemoRepository(path.resolve(config.stateDir, 'demo', 'shop'));
  logger.info({ path: repo.path, created: repo.created }, 'demo repository ready');
  // The board's buttons need a signed-in person: the demo has one, `you`, with a token of its own.
  const boardToken = demoBoardToken(path.resolve(config.stateDir, 'demo'));
  const withRepo = validateConfig(
    {
      ...config,
      repositories: [demoRepositoryConfig(repo.path)],
      board: {
        ...config.board,
        auth: {
          ...config.board.auth,
          mode: 'tokens',
          tokens: [{ name: 'you', hash: await hashToken(boardToken) }],
        },
      },
    },
    {},
  );
  // Written down, so every CLI command (status, start, lock...) sees the demo repository too.
  await writeDemoConfig(withRepo, repo.path);
  // Our own deliveries are signed like GitHub's; without a configured secret the demo makes one.
  const secret = process.env.GITHUB_WEBHOOK_SECRET ?? randomBytes(24).toString('hex');
  return {
    config: withRepo,
    demo: { releases: repo.releases, pullRequest: repo.pullRequest, secret, boardToken } satisfies Demo,
  };
}

async function writeDemoConfig(config: Readonly<Config>, repoPath: string): Promise<void> {
  const stateDir = path.resolve(config.stateDir);
  const dev = config.temporal.devServer;
  const file = demoConfigPath(stateDir);
  await writeFileAtomic(
    file,
    `${JSON.stringify(
      {
        stateDir,
        temporal: {
          taskQueue: config.temporal.taskQueue,
          devServer: { port: dev.port, uiPort: dev.uiPort, dbFile: path.resolve(dev.dbFile) },
        },
        repositories: [demoRepositoryConfig(repoPath)],
      },
      null,
      2,
    )}\n`,
  );
}

/** Made once per state directory, so a restarted demo keeps its sign-in. */
function demoBoardToken(dir: string): string {
  return madeOnce(dir, 'board-token', newToken);
}

export interface StartAllOptions {
  configFile?: string;
  deployment?: WorkerDeployment;
}

/** Runs every role in this process until a signal stops it. */
export async function startAll(opts: StartAllOptions = {}): Promise<void> {
  const found = loadConfig({ file: opts.configFile });
  // The demo's own written configuration is not a user's file: the demo still runs.
  const loaded = found.demo
    ? { config: validateConfig({ ...found.config, repositories: [] }, {}), file: undefined }
    : found;
  const logger = createLogger(loaded.config.log.level);
  logger.info({ config: loaded.file ?? '(defaults)' }, 'release-flow starting');
  const { config, demo } = await withDemo(loaded.config, loaded.file, logger);
  // The demo's steps run by the same trust rules as anyone's where bubblewrap is installed; on a
  // machine without it they run as the worker, since release-flow wrote the demo's code itself
  // (docs/threat-model.md). A user's own repositories never fall back like this.
  const demoSandbox = demo && chooseSandbox(config).refusal ? { sandbox: noSandbox } : {};
  if (demo && 'sandbox' in demoSandbox)
    logger.warn(
      'bubblewrap is not installed: the demo runs its steps as the worker (apt-get install -y bubblewrap)',
    );
  const showRunning = (app: RunningApp) => {
    const http = app.http!;
    const lines = [
      '',
      'release-flow is running',
      `  Temporal:         ${app.target.address} (namespace ${app.target.namespace}${app.devServer ? ', embedded dev server' : ''})`,
      ...(app.uiUrl ? [`  Temporal UI:      ${app.uiUrl}`] : []),
      `  Health:           ${http.url}/healthz   readiness: ${http.url}/readyz`,
      `  Webhook receiver: ${http.url}${WEBHOOK_PATH}`,
      `  Release board:    ${http.url}/board`,
      ...(demo
        ? [
            `                    sign in at ${http.url}/board/login as "you" with the token ${demo.boardToken}`,
          ]
        : []),
      '  Stop with Ctrl-C.',
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (demo) {
      // `release-flow demo hotfix` delivers its push here, signed like the demo's own deliveries.
      writeDemoReceiver(config.stateDir, {
        url: `${http.url}${WEBHOOK_PATH}`,
        // A secret from the environment stays there: the command reads it from its own environment.
        ...(process.env.GITHUB_WEBHOOK_SECRET ? {} : { secret: demo.secret }),
      });
      runDemo({
        client: app.client,
        namespace: app.target.namespace,
        receiverUrl: `${http.url}${WEBHOOK_PATH}`,
        secret: demo.secret,
        releases: demo.releases,
        pullRequest: demo.pullRequest,
        ...(app.uiUrl ? { uiUrl: app.uiUrl } : {}),
        print: (line) => process.stdout.write(`${line}\n`),
      }).catch((err) => logger.error({ err }, 'the demo stopped'));
    }
  };
  await runUntilStopped(
    {
      config,
      logger,
      ...(demo ? { webhookSecret: demo.secret, ...demoSandbox } : {}),
      ...(opts.deployment ? { deployment: opts.deployment } : {}),
    },
    {
      onBooted: (booted) => {
        const url = booted.http!.url;
        process.stdout.write(
          `\nrelease-flow is starting: health ${url}/healthz, webhooks ${url}${WEBHOOK_PATH} (queued until Temporal answers)\n`,
        );
      },
      onConnected: showRunning,
      onStopped: () => logger.info('stopped; state is kept in the Temporal database for the next start'),
    },
  );
}
