/**
 * Records replay fixtures from real runs on a dev server into
 * test/replay/histories/<workflowType>/<fixture>.json, one group of workflows at a time. The
 * worker runs the shipped workflow bundle with the workflow tests' stub activities (the histories
 * hold their results) and the real staging and repository locks.
 *
 * One policy for every group: a fixture that exists is kept unless it is named on the command
 * line. The ones recorded before a `patched()` change are what proves that runs begun before it
 * still replay, for as long as its branch exists; re-recording them with the new code would
 * erase their point. To record a path the new code takes, give it a new fixture name in its group (the
 * pipelines' `-statuses` names are such a second generation) and keep the old one beside it.
 *
 * The groups and their scenarios live in scripts/histories/, one file each.
 *
 * Usage: npx tsx scripts/record-histories.ts <group> [fixture ...] [--into DIR]
 *        npx tsx scripts/record-histories.ts --help        (the groups and their fixtures)
 * `--into DIR` writes DIR/histories/... and DIR/broken/... instead of test/replay/, and decides
 * what exists there.
 */
import '../test/helpers/runtime';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { projectRoot } from '../src/common/package-info';
import { lockWorkflowId, setModeSignal } from '../src/workflows/lock/messages';
import { lockHarness, lockStatus } from '../test/helpers/lock-harness';
import { devServerEnv, executableFor, unique, workflowBundle } from '../test/helpers/temporal-env';
import { emergencyGroup } from './histories/emergency';
import { lockGroup } from './histories/lock';
import { pipelineGroup } from './histories/pipeline';
import { prGateGroup } from './histories/pr-gate';
import { recordingStubs, type Fixture, type Group, type RunContext } from './histories/scenario';

const groups: Group[] = [lockGroup, pipelineGroup, prGateGroup, emergencyGroup];

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error };

/**
 * Workflow code at an earlier commit, bundled on its own: the file and the `./` modules it imports
 * (as of that commit) are written under the project (`.scratch-*` is ignored by git) so the
 * bundler finds `node_modules`; their `../` imports, type-only, point at today's `src/`.
 */
async function bundleAt(at: { commit: string; file: string }): Promise<WorkflowBundleWithSourceMap> {
  const dir = mkdtempSync(path.join(projectRoot, '.scratch-record-'));
  const copied = new Set<string>();
  const copy = (file: string) => {
    if (copied.has(file)) return;
    copied.add(file);
    const source = execFileSync('git', ['show', `${at.commit}:${file}`], {
      cwd: projectRoot,
      encoding: 'utf8',
    });
    const from = path.posix.dirname(file);
    writeFileSync(
      path.join(dir, path.posix.basename(file)),
      source.replace(/from '(\.\.?\/[^']+)'/g, (whole, spec: string) => {
        if (spec.startsWith('./') && !spec.slice(2).includes('/')) {
          copy(path.posix.join(from, `${spec}.ts`));
          return whole;
        }
        return `from '${path.join(projectRoot, from, spec)}'`;
      }),
    );
  };
  try {
    copy(at.file);
    return await bundleWorkflowCode({
      workflowsPath: path.join(dir, path.posix.basename(at.file)),
      logger: quiet,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A history as `temporal workflow show --output json` exports it: the form the replay command
 * documents and the replay test reads, written by the dev server's own CLI.
 */
function exportHistory(address: string, workflowId: string, runId?: string): ExportedHistory {
  const cli = executableFor('cli');
  if (cli.type !== 'existing-path') throw new Error('the Temporal CLI is needed to export histories');
  const args = ['workflow', 'show', '--address', address, '--workflow-id', workflowId, '--output', 'json'];
  const out = execFileSync(cli.path, runId ? [...args, '--run-id', runId] : args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out) as ExportedHistory;
}

interface ExportedHistory {
  events: { workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[];
}

const fixturePath = (into: string, f: Fixture) =>
  f.broken
    ? path.join(into, 'broken', `${f.name}.json`)
    : path.join(into, 'histories', f.type, `${f.name}.json`);

type Result = 'recorded' | 'kept';

async function record(group: Group, named: string[], into: string): Promise<void> {
  const all = group.scenarios.flatMap((s) => s.fixtures);
  const unknown = named.filter((n) => !all.some((f) => f.name === n));
  if (unknown.length) {
    console.error(
      `${group.name} has no fixture ${unknown.join(', ')}; its fixtures: ${all.map((f) => f.name).join(', ')}`,
    );
    process.exitCode = 2;
    return;
  }
  const wanted = (f: Fixture) => named.includes(f.name) || !existsSync(fixturePath(into, f));
  const results = new Map<string, Result>();
  const rel = (f: Fixture) => path.relative(into, fixturePath(into, f));
  const todo = group.scenarios.filter((s) => s.fixtures.some(wanted));
  for (const f of all) if (!todo.some((s) => s.fixtures.includes(f))) results.set(f.name, 'kept');

  if (todo.length) {
    const env = await devServerEnv({ extraArgs: group.devServerArgs });
    const client = env.client;
    const taskQueue = unique(`record-${group.name}`);
    const stubs = recordingStubs();
    const lock = lockHarness(client);
    const activities = { ...lock.activities, ...stubs.activities };
    // One worker for the whole run: long-lived workflows (the staging lock) stay on its queue.
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities,
      maxHeartbeatThrottleInterval: '1 second',
    });
    const running = worker.run();
    try {
      for (const scenario of todo) {
        const save: RunContext['save'] = async (name, workflowId, runId, edit) => {
          const f = scenario.fixtures.find((x) => x.name === name);
          if (!f) throw new Error(`${name} is not a fixture of the scenario saving it`);
          if (!wanted(f)) {
            results.set(name, 'kept');
            return;
          }
          const json = exportHistory(env.address, workflowId, runId);
          const type = json.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
          if (type !== f.type)
            throw new Error(`${name} is declared a ${f.type} history but ${workflowId} is a ${type}`);
          const text = `${JSON.stringify({ workflowId, events: json.events }, null, 1)}\n`;
          const file = fixturePath(into, f);
          mkdirSync(path.dirname(file), { recursive: true });
          writeFileSync(file, edit ? edit(text) : text);
          results.set(name, 'recorded');
          console.log(`recorded ${rel(f)} (${json.events.length} events)`);
        };
        const ctx = (queue: string): RunContext => ({ client, taskQueue: queue, stubs, lock, save });
        if (scenario.workflowsAt) {
          const queue = `${taskQueue}-${scenario.fixtures[0]!.name}`;
          const old = await Worker.create({
            connection: env.nativeConnection,
            taskQueue: queue,
            workflowBundle: await bundleAt(scenario.workflowsAt),
            activities,
          });
          await old.runUntil(scenario.run(ctx(queue)));
        } else await scenario.run(ctx(taskQueue));
        // An emergency leaves staging in hotfix-only mode: back to normal for the next scenario.
        const staging = await lockStatus(client, 'staging');
        if (staging?.mode.mode === 'hotfixOnly')
          await client.workflow
            .getHandle(lockWorkflowId('staging'))
            .signal(setModeSignal, { mode: 'normal', by: 'recorder', reason: 'next recording' });
      }
    } finally {
      // Runs handed off to stub activities (production after a tag, the locks) end here.
      for await (const wf of client.workflow.list({ query: `ExecutionStatus = 'Running'` }))
        await client.workflow
          .getHandle(wf.workflowId)
          .terminate('recording done')
          .catch(() => undefined);
      worker.shutdown();
      await running;
      await env.teardown();
    }
  }

  for (const f of all) if (results.get(f.name) === 'kept') console.log(`kept ${rel(f)}`);
  const missing = all.filter((f) => !results.has(f.name));
  for (const f of missing) console.error(`not recorded ${rel(f)}: the run did not produce it`);
  const recorded = all.filter((f) => results.get(f.name) === 'recorded').length;
  console.log(
    `${group.name}: ${recorded} recorded, ${all.length - recorded - missing.length} kept` +
      (recorded ? '' : ' (an existing fixture is recorded again only when named)'),
  );
  if (missing.length) process.exitCode = 1;
}

function usage(): string {
  const lines = [
    'Usage: npx tsx scripts/record-histories.ts <group> [fixture ...] [--into DIR]',
    '',
    "Records the group's missing fixtures into test/replay/histories/<workflowType>/ (a deliberately",
    'broken one into test/replay/broken/); an existing fixture is kept unless named. --into DIR',
    'writes under DIR instead.',
    '',
    'Groups:',
  ];
  for (const g of groups) {
    lines.push(`  ${g.name}: ${g.summary}`);
    for (const f of g.scenarios.flatMap((s) => s.fixtures))
      lines.push(`      ${f.name}  (${f.broken ? 'broken' : f.type})`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { into: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [name, ...named] = positionals;
  if (values.help || !name) {
    console.log(usage());
    if (!values.help) process.exitCode = 2;
    return;
  }
  const group = groups.find((g) => g.name === name);
  if (!group) {
    console.error(`no group ${name}; groups: ${groups.map((g) => g.name).join(', ')}`);
    process.exitCode = 2;
    return;
  }
  await record(group, named, path.resolve(values.into ?? path.join(projectRoot, 'test', 'replay')));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
