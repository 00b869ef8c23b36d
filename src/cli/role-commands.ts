/**
 * The roles of release-flow, one process each, any number of each against one Temporal
 * cluster (docs/running-in-production.md):
 *
 *   release-flow worker     workers only: pipelines, locks, their activities
 *   release-flow serve      HTTP server, webhook receiver, outbox (and what else is served): no worker
 *   release-flow start-all  everything in one process, with the embedded dev server (npm start)
 *
 * Each waits for Temporal instead of exiting when it is unreachable, and stops on SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import type { CliContext } from './context';

interface RoleOptions {
  config?: string;
}

async function runRole(role: 'worker' | 'serve', opts: RoleOptions): Promise<void> {
  // Loaded here, not at the top: `--help` lists these commands without loading the worker.
  const { runUntilStopped } = require('../app') as typeof import('../app');
  const { loadConfig } = require('../config/load') as typeof import('../config/load');
  const { createLogger } = require('../common/logging') as typeof import('../common/logging');
  const { deploymentFromEnv } =
    require('../temporal/release-build') as typeof import('../temporal/release-build');
  const loaded = loadConfig({ file: opts.config });
  const logger = createLogger(loaded.config.log.level);
  const deployment = role === 'worker' ? deploymentFromEnv() : undefined;
  logger.info(
    { role, config: loaded.file ?? '(defaults)', ...(deployment ? { deployment } : {}) },
    'release-flow starting',
  );
  await runUntilStopped(
    {
      config: loaded.config,
      logger,
      roles: { worker: role === 'worker', server: role === 'serve' },
      ...(deployment ? { deployment } : {}),
    },
    {
      onBooted: (booted) => {
        if (booted.http) logger.info({ url: booted.http.url }, 'HTTP server listening');
      },
      onStopped: () => logger.info({ role }, 'stopped'),
    },
  );
}

export function registerRoleCommands(program: Command, _ctx: CliContext): void {
  program
    .command('worker')
    .description('run workers only (any number of processes on any machines; no HTTP server)')
    .option('--config <file>', 'configuration file')
    .action(async (opts: RoleOptions) => await runRole('worker', opts));
  program
    .command('serve')
    .description('run the HTTP server: webhook receiver, outbox, health and readiness (no worker)')
    .option('--config <file>', 'configuration file')
    .action(async (opts: RoleOptions) => await runRole('serve', opts));
  program
    .command('start-all')
    .description('run every role in one process, with the embedded Temporal dev server (what npm start runs)')
    .option('--config <file>', 'configuration file')
    .action(async (opts: RoleOptions) => {
      const { startAll } = require('./start-all-command') as typeof import('./start-all-command');
      const { deploymentFromEnv } =
        require('../temporal/release-build') as typeof import('../temporal/release-build');
      const deployment = deploymentFromEnv();
      await startAll({
        ...(opts.config ? { configFile: opts.config } : {}),
        ...(deployment ? { deployment } : {}),
      });
    });
}
