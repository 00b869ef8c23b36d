import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/load';
import { isUserError } from '../common/errors';
import { projectRoot } from '../common/package-info';
import { checkIntegrations, type IntegrationCheck } from './integration-checks';
import { sandboxChecks } from './sandbox-checks';
import { lookup, type ExecutableKind } from '../temporal/executables';
import { doctorAtlassian } from './atlassian-doctor';
import type { CliContext } from './context';

export function registerDoctorCommand(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description(
      'show which Temporal executables release-flow would use, which sandbox each kind of step gets and why, and check every configured integration (APM, registry, alert channels)',
    )
    .option('--json', 'print JSON')
    .option('--config <file>', 'the configuration whose integrations, Jira and Confluence settings to check')
    .option('--send-test-alert', 'send one test message to every alert channel')
    .action(async (opts: { json?: boolean; config?: string; sendTestAlert?: boolean }) => {
      const atlassian = await doctorAtlassian(opts.config);
      let integrations: IntegrationCheck[] = [];
      try {
        const { config } = loadConfig({ file: opts.config });
        integrations = [
          ...sandboxChecks(config, process.env),
          ...(await checkIntegrations(config, {
            env: process.env,
            stateDir: path.resolve(config.stateDir),
            sendTestAlert: !!opts.sendTestAlert,
          })),
        ];
      } catch (err) {
        if (!isUserError(err)) throw err;
        integrations = [{ kind: 'config', name: 'configuration', ok: false, detail: err.render() }];
      }
      const kinds: ExecutableKind[] = ['cli', 'test-server'];
      const report = kinds.map((kind) => {
        const found = lookup(kind, { root: projectRoot });
        return Array.isArray(found)
          ? { kind, found: false as const, tried: found.map((a) => `[${a.source}] ${a.detail}`) }
          : { kind, found: true as const, path: found.path, source: found.source };
      });
      if (opts.json)
        ctx.out(
          JSON.stringify(
            {
              temporalAddress: process.env.TEMPORAL_ADDRESS ?? null,
              executables: report,
              integrations,
              ...atlassian.json,
            },
            null,
            2,
          ),
        );
      else {
        ctx.out(`TEMPORAL_ADDRESS: ${process.env.TEMPORAL_ADDRESS ?? '(unset: embedded dev server)'}`);
        for (const r of report) {
          ctx.out(
            r.found
              ? `${r.kind}: ${r.path} (${r.source})`
              : `${r.kind}: not found; tried:\n  ${r.tried.join('\n  ')}\n  run \`npm run setup:temporal\``,
          );
        }
        for (const c of integrations) ctx.out(`${c.kind} ${c.name}: ${c.ok ? 'ok' : 'FAILED'}: ${c.detail}`);
        atlassian.lines.forEach((line) => ctx.out(line));
      }
      if (atlassian.failed) ctx.setExitCode(1);
      if (report.some((r) => !r.found) && !process.env.TEMPORAL_ADDRESS) ctx.setExitCode(1);
      if (integrations.some((c) => !c.ok)) ctx.setExitCode(1);
    });
}
