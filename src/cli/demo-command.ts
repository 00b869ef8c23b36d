/**
 * `release-flow demo break|heal`: make the demo's production error rate exceed the threshold
 * (or bring it back), through the local metric source the production watch reads.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { LocalMetricSource } from '../adapters/local/local-metric-source';
import { loadConfig } from '../config/load';
import { UserError } from '../errors';
import type { CliContext } from './main';

function metricSource(configFile: string | undefined): LocalMetricSource {
  const { config } = loadConfig({ file: configFile });
  return new LocalMetricSource({ dir: path.resolve(config.stateDir, 'apm') });
}

function target(repository: string | undefined) {
  return repository ? { service: repository, env: 'production' } : 'production';
}

export function registerDemoCommands(program: Command, ctx: CliContext): void {
  const demo = program.command('demo').description("the newcomer's demo (npm start with no configuration)");
  demo
    .command('break')
    .description('make production unhealthy: its error rate jumps above the threshold, so the watch breaches')
    .option('--error-rate <rate>', 'share of failing requests, 0..1', '0.3')
    .option('--config <file>', 'configuration file')
    .option(
      '--repository <name>',
      'only this repository (service); default: every repository without its own traffic',
    )
    .action(async (opts: { errorRate: string; config?: string; repository?: string }) => {
      const rate = Number(opts.errorRate);
      if (!(rate >= 0 && rate <= 1)) {
        throw new UserError(
          'INVALID_OPTION',
          `--error-rate ${opts.errorRate} is not between 0 and 1`,
          'pass e.g. --error-rate 0.3',
        );
      }
      await metricSource(opts.config).setErrorRate(target(opts.repository), rate);
      ctx.out(`production error rate is now ${rate * 100}%: the health watch breaches within a few samples`);
      ctx.out(
        'then decide: npx release-flow decide REPO VERSION emergency|rollback|fail-forward --by NAME (see `release-flow status`)',
      );
    });
  demo
    .command('heal')
    .description('bring production back to a healthy error rate')
    .option('--config <file>', 'configuration file')
    .option('--repository <name>', 'only this repository (service)')
    .action(async (opts: { config?: string; repository?: string }) => {
      await metricSource(opts.config).setErrorRate(target(opts.repository), 0);
      ctx.out('production error rate is now 0%');
    });
}
