/**
 * Upgrading release-flow while releases run (Worker Versioning; docs/running-in-production.md):
 *
 *   release-flow upgrade status [--deployment NAME] [--json]   versions, what runs on each, which may stop
 *   release-flow upgrade promote <build-id> [--deployment NAME] new releases start on that build
 */
import type { Command } from 'commander';
import type { CliContext } from './context';
import { withTemporalClient } from './temporal-client';

interface UpgradeOptions {
  deployment?: string;
  config?: string;
  json?: boolean;
}

function deploymentName(opts: UpgradeOptions): string {
  return opts.deployment ?? (process.env.RELEASE_FLOW_DEPLOYMENT?.trim() || 'release-flow');
}

export function registerUpgradeCommands(program: Command, ctx: CliContext): void {
  const upgrade = program
    .command('upgrade')
    .description('upgrade release-flow while releases run: deployment versions of its workers');
  upgrade
    .command('status')
    .description('which builds still have running releases, and when an old build may be stopped')
    .option('--deployment <name>', 'worker deployment name (default RELEASE_FLOW_DEPLOYMENT or release-flow)')
    .option('--config <file>', 'configuration file')
    .option('--json', 'print JSON')
    .action(async (opts: UpgradeOptions) => {
      const { upgradeStatus } =
        require('../temporal/worker-deployments') as typeof import('../temporal/worker-deployments');
      const name = deploymentName(opts);
      const status = await withTemporalClient({ configFile: opts.config }, ({ client }) =>
        upgradeStatus(client, name),
      );
      if (opts.json) return ctx.out(JSON.stringify(status));
      if (status.versions.length === 0) {
        return ctx.out(
          `deployment ${name}: no versioned worker has polled yet (set RELEASE_FLOW_DEPLOYMENT on the workers)`,
        );
      }
      ctx.out(
        `deployment ${name}: current ${status.current ?? '(none)'}${status.ramping ? `, ramping ${status.ramping}` : ''}`,
      );
      for (const v of status.versions) {
        ctx.out(
          `  ${v.buildId.padEnd(24)} ${String(v.running).padStart(4)} running  ${v.mayStop ? 'may stop' : 'keep    '}  ${v.reason}`,
        );
      }
    });
  upgrade
    .command('promote <build-id>')
    .description('make a build current: new releases start on it; running ones finish where they started')
    .option('--deployment <name>', 'worker deployment name (default RELEASE_FLOW_DEPLOYMENT or release-flow)')
    .option('--config <file>', 'configuration file')
    .action(async (buildId: string, opts: UpgradeOptions) => {
      const { setCurrentVersion } =
        require('../temporal/worker-deployments') as typeof import('../temporal/worker-deployments');
      const name = deploymentName(opts);
      await withTemporalClient({ configFile: opts.config }, ({ client }) =>
        setCurrentVersion(client, name, buildId),
      );
      ctx.out(
        `deployment ${name}: ${buildId} is current; run \`release-flow upgrade status\` to see the old build drain`,
      );
    });
}
