import type { Command } from 'commander';
import { stringify } from 'yaml';
import { loadConfig } from '../config/load';
import { integrationSecretNames } from '../config/integrations-checks';
import { describeSecrets, maskSecrets, registerSecret } from '../common/secrets';
import { githubSelection } from '../composition/github-selection';
import type { CliContext } from './context';

export function registerConfigCommands(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('inspect the configuration');
  config
    .command('check [file]')
    .description('validate the configuration and print the effective values (secrets masked)')
    .option('--json', 'print JSON instead of YAML')
    .action((file: string | undefined, opts: { json?: boolean }) => {
      const loaded = loadConfig({ file });
      const effective = {
        source: loaded.file ?? '(no file: defaults and environment only)',
        ...loaded.config,
        temporal: {
          address: process.env.TEMPORAL_ADDRESS ?? '(embedded dev server)',
          ...loaded.config.temporal,
        },
        secrets: {
          ...describeSecrets(process.env),
          // The variables the configured integrations read (docs/integrations.md "Integrations").
          ...Object.fromEntries(
            integrationSecretNames(loaded.config).map((name) => {
              const value = process.env[name];
              if (value) registerSecret(value);
              return [name, value ? 'set (masked)' : 'not set'];
            }),
          ),
        },
        // Which adapters each repository gets in this environment (docs/integrations.md "GitHub").
        servedBy: Object.fromEntries(
          loaded.config.repositories.map((repo) => {
            const { github, reason } = githubSelection(repo, process.env);
            return [repo.name, `${github ? 'GitHub' : 'local adapters'} (${reason})`];
          }),
        ),
      };
      const text = opts.json ? JSON.stringify(effective, null, 2) : stringify(effective).trimEnd();
      ctx.out(maskSecrets(text));
      if (!opts.json) ctx.out('config OK');
    });
}
