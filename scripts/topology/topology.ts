/**
 * `npm run topology`: release-flow as in production, on this machine (docs/running-in-production.md
 * "A production topology on this machine"). Needs the server built once:
 * `npm run setup:temporal -- --server`.
 *   --repositories N             how many repositories to release (default 2)
 *   --staging-deploy-seconds N   how long a staging deploy takes (default 8): the kill window
 *   --keep                       keep the directory (logs, state, databases) even when all passed
 *   --temporal-address HOST:PORT join that cluster instead of starting one (namespace `default`
 *                                and the search attributes registered there)
 * Prints a summary; the last line is one JSON object. Exit code 0 when every check held.
 */
import { runTopology, ServerNotBuilt, type TopologySummary } from './scenario';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const started = Date.now();
const log = (line: string) =>
  process.stdout.write(`[topology ${Math.round((Date.now() - started) / 1000)}s] ${line}\n`);

function print(summary: TopologySummary): void {
  log(`Temporal ${summary.temporal.version} at ${summary.temporal.address}`);
  for (const p of summary.processes)
    log(
      `process ${p.hostname.padEnd(9)} release-flow ${p.role.padEnd(6)} stateDir ${p.stateDir} (exit ${p.exit})`,
    );
  for (const k of summary.kills)
    log(
      `killed ${k.worker} (SIGKILL, whole namespace) ${k.afterSeconds}s into ${k.activity} of ${k.workflowId}`,
    );
  for (const r of summary.repositories) {
    log(`repository ${r.name}`);
    for (const run of r.runs) {
      const outcome = run.outcome as { state?: string; tag?: string; failed?: string } | undefined;
      const what =
        outcome?.failed ??
        outcome?.state ??
        (outcome?.tag ? `tagged ${outcome.tag}` : JSON.stringify(outcome));
      log(
        `  ${run.workflowId.padEnd(60)} ${run.status.padEnd(10)} runs=${run.runs} ${what}; activities on ${run.workers.join(', ')}`,
      );
    }
    const e = r.effects;
    log(
      `  effects: tags ${e.tags}, ${Object.entries(r.deploys)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}, alerts ${e.alerts}, tickets ${e.tickets}, pages ${e.pages}, branches ${e.branches}`,
    );
    log(`  registry: dev [${r.registryTags.dev.join(', ')}], prod [${r.registryTags.prod.join(', ')}]`);
    if (r.duplicates.length) log(`  DUPLICATES: ${r.duplicates.join('; ')}`);
  }
  log(
    `seconds: ${Object.entries(summary.seconds)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  log(summary.ok ? 'every check held' : `FAILED: ${summary.failures.join('; ')} (kept ${summary.dir})`);
}

void (async () => {
  try {
    const summary = await runTopology({
      repositories: Number(flag('--repositories') ?? 2),
      stagingDeploySeconds: Number(flag('--staging-deploy-seconds') ?? 8),
      keep: args.includes('--keep'),
      ...(flag('--temporal-address') ? { temporal: { address: flag('--temporal-address')! } } : {}),
      onProgress: log,
    });
    print(summary);
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    process.exitCode = summary.ok ? 0 : 1;
  } catch (err) {
    process.stderr.write(
      `${err instanceof ServerNotBuilt ? err.message : err instanceof Error ? err.stack : String(err)}\n`,
    );
    process.exitCode = 1;
  }
})();
