/**
 * `release-flow replay FILE|DIR`: replays exported workflow histories (`temporal workflow show
 * --output json`, the UI's download, or our fixtures) against this version's workflow code, so
 * an operator can check a new release-flow against their cluster's releases before deploying.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { UserError } from '../common/errors';
import { workflowsPath } from '../worker';
import type { CliContext } from './context';

function historyFiles(target: string): string[] {
  const full = path.resolve(target);
  let stat;
  try {
    stat = statSync(full);
  } catch {
    throw new UserError(
      'NO_SUCH_FILE',
      `${full} does not exist`,
      'pass a history JSON file or a folder of them',
    );
  }
  if (stat.isFile()) return [full];
  const files = readdirSync(full)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => path.join(full, f));
  if (!files.length)
    throw new UserError(
      'NO_HISTORIES',
      `no .json files in ${full}`,
      'export histories with `temporal workflow show --workflow-id ID --output json > ID.json`',
    );
  return files;
}

/**
 * A history as exported (JSON, 64-bit ids as strings): the replayer decodes that form itself,
 * so no SDK-internal codec is needed here.
 */
function load(file: string): { workflowId: string; history: unknown } {
  let json: { workflowId?: string; events?: unknown };
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as typeof json;
  } catch (err) {
    throw new UserError(
      'BAD_HISTORY',
      `${file} is not JSON: ${(err as Error).message}`,
      'export it again with --output json',
    );
  }
  if (!Array.isArray(json.events)) {
    throw new UserError(
      'BAD_HISTORY',
      `${file} has no "events" array`,
      'export it with `temporal workflow show --output json`',
    );
  }
  return { workflowId: json.workflowId ?? path.basename(file, '.json'), history: json };
}

function quietRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  } catch {
    // a runtime is already installed in this process
  }
}

export function registerReplayCommand(program: Command, ctx: CliContext): void {
  program
    .command('replay <target>')
    .description(
      'replay exported workflow histories (a JSON file or a folder) against this code; exit 1 on any nondeterminism',
    )
    .option('--json', 'print JSON')
    .action(async (target: string, opts: { json?: boolean }) => {
      const files = historyFiles(target);
      const histories = files.map(load);
      quietRuntime();
      const bundle = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('ERROR') });
      const results: { file: string; workflowId: string; ok: boolean; error?: string }[] = [];
      let i = 0;
      for await (const r of Worker.runReplayHistories({ workflowBundle: bundle }, histories)) {
        results.push({
          file: files[i]!,
          workflowId: r.workflowId,
          ok: !r.error,
          ...(r.error ? { error: r.error.message } : {}),
        });
        i += 1;
      }
      if (opts.json)
        ctx.out(
          JSON.stringify(
            { replayed: results.length, failed: results.filter((r) => !r.ok).length, results },
            null,
            2,
          ),
        );
      else {
        for (const r of results)
          ctx.out(
            `${r.ok ? 'ok  ' : 'FAIL'} ${path.basename(r.file)} (${r.workflowId})${r.error ? `\n     ${r.error.split('\n')[0]}` : ''}`,
          );
        ctx.out(`${results.filter((r) => r.ok).length} of ${results.length} histories replay cleanly`);
      }
      if (results.some((r) => !r.ok)) ctx.setExitCode(1);
    });
}
