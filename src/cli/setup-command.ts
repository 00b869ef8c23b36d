import type { Command } from 'commander';
import { projectRoot } from '../package-info';
import { lookup, type ExecutableKind } from '../temporal/executables';
import { doctorAtlassian } from './atlassian-doctor';
import type { CliContext } from './main';

export function registerSetupCommands(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description('show which Temporal executables release-flow would use, and where each came from')
    .option('--json', 'print JSON')
    .option('--config <file>', 'the configuration whose Jira and Confluence settings to check')
    .action(async (opts: { json?: boolean; config?: string }) => {
      const atlassian = await doctorAtlassian(opts.config);
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
            { temporalAddress: process.env.TEMPORAL_ADDRESS ?? null, executables: report, ...atlassian.json },
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
        atlassian.lines.forEach((line) => ctx.out(line));
      }
      if (atlassian.failed) ctx.setExitCode(1);
      if (report.some((r) => !r.found) && !process.env.TEMPORAL_ADDRESS) ctx.setExitCode(1);
    });
}
