/**
 * `npm run test:chaos`: SIGKILL the worker at the activity boundaries of every pipeline path and
 * start it again; every release completes and every effect (tag, upload, deploy, ticket, page,
 * branch, pull request, alert) happens once, counted in the local adapters' journals. Then: the Temporal dev
 * server stopped and started again mid-release, and the webhook outbox under 50 deliveries/s
 * with Temporal down for a minute. The last line printed is one JSON object (docs/testing.md "Chaos suite").
 *
 * Boundaries: the kill switch in chaos-worker.ts kills at the first start of each activity key
 * (workflow family + activity type, once right after it starts and once after its effect before
 * its result reaches Temporal). By default a key killed in one path is not killed again in the
 * next (`--every` kills at every key of every path: slower, same checks).
 * Options: --every, --outbox-seconds N (default 60), --only NAME[,NAME] (paths by name),
 * --path-minutes N (default 10: a path still running then fails, and the suite goes on).
 */
import '../helpers/runtime';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { LocalIncidents } from '../../src/adapters/local/local-incidents';
import { LocalMetricSource } from '../../src/adapters/local/local-metric-source';
import { validateConfig } from '../../src/config/load';
import { createLogger } from '../../src/common/logging';
import { demoRepositoryConfig, ensureDemoRepository } from '../../src/demo/demo-repository';
import { startHttpServer } from '../../src/http/server';
import { projectRoot } from '../../src/common/package-info';
import { startHotfix, startMainCommit, startTagRelease } from '../../src/starter';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server';
import { lookup } from '../../src/temporal/executables';
import { openWebhookReceiver } from '../../src/http/webhooks/webhook-receiver';
import {
  lockWorkflowId,
  setModeSignal,
  statusQuery as lockStatusQuery,
} from '../../src/workflows/lock/messages';
import { lockProbeWorkflow } from '../../src/workflows/lock/lock-probe-workflow';
import {
  anyPipelineStatusQuery as statusQuery,
  type AnyPipelineStatus as PipelineStatus,
} from '../../src/workflows/pipeline-status';
import { decideUpdate, emergencySignal, rollbackSignal } from '../../src/workflows/production/messages';
import { countEffects, walk, type Tally } from '../helpers/effects';
import { waitFor } from '../helpers/ports';
import { tcpForwarder, type TcpForwarder } from '../helpers/tcp-forwarder';
import { deliver, sha } from '../helpers/webhooks';
import { workflowsPath } from '../../src/worker';

const args = process.argv.slice(2);
const every = args.includes('--every');
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const outboxSeconds = Number(flag('--outbox-seconds') ?? 60);
const only = flag('--only')?.split(',');
const pathMinutes = Number(flag('--path-minutes') ?? 10);

const started = Date.now();
const base = mkdtempSync(path.join(os.tmpdir(), 'rf-chaos-'));
const stateDir = path.join(base, 'state');
const chaosDir = path.join(base, 'chaos');
const configFile = path.join(base, 'release-flow.json');
const taskQueue = 'chaos';
mkdirSync(chaosDir, { recursive: true });

const log = (line: string) =>
  process.stdout.write(`[chaos ${Math.round((Date.now() - started) / 1000)}s] ${line}\n`);
const failures: string[] = [];
const check = (ok: boolean, what: string) => {
  if (!ok) {
    failures.push(what);
    log(`FAIL ${what}`);
  }
};

// ---- the worker, restarted whenever it dies ----------------------------------------------------
let worker: ChildProcess | undefined;
let stopping = false;
let restarts = 0;
let bundlePath = '';
let forwarder: TcpForwarder;

function startWorker(): void {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'chaos-worker.ts')], {
    cwd: projectRoot,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: forwarder.address,
      RELEASE_FLOW_CONFIG: configFile,
      LOG_LEVEL: 'error',
      CHAOS_DIR: chaosDir,
      CHAOS_BUNDLE: bundlePath,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  worker = child;
  child.once('exit', () => {
    if (stopping || worker !== child) return;
    restarts++;
    startWorker();
  });
}

async function stopWorker(): Promise<void> {
  stopping = true;
  const child = worker;
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}

function setCurrent(name: string | null): void {
  const file = path.join(chaosDir, 'current');
  if (name === null) writeFileSync(file, 'null');
  else
    writeFileSync(
      file,
      JSON.stringify({ path: name, scope: every ? 'path' : 'family', phases: ['start', 'done'] }),
    );
}

interface Kill {
  key: string;
  path: string;
  family: string;
  activityType: string;
  phase: string;
}
const kills = () => {
  try {
    return readFileSync(path.join(chaosDir, 'kills.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Kill);
  } catch {
    return [];
  }
};

// ---- repositories, one per path -----------------------------------------------------------------
interface PathRepo {
  name: string;
  dir: string;
  releases: string[];
}
const FAIL = [['node', '-e', 'process.exit(1)']];
// Integration tests run in dev (main-commit) and in staging (tag): these fail or hang in staging only.
const FAIL_IN_STAGING = [['node', '-e', "process.exit(process.env.RELEASE_FLOW_ENV === 'staging' ? 1 : 0)"]];
const SLOW_IN_STAGING = [
  ['node', '-e', "if (process.env.RELEASE_FLOW_ENV === 'staging') setTimeout(() => {}, 120000)"],
];

async function makeRepo(name: string): Promise<PathRepo> {
  const repo = await ensureDemoRepository(path.join(base, 'repos', name));
  return { name: `chaos/${name}`, dir: repo.path, releases: repo.releases };
}

function repoConfig(repo: PathRepo, commands: Record<string, unknown> = {}) {
  const demo = demoRepositoryConfig(repo.dir);
  return {
    ...demo,
    name: repo.name,
    commands: { ...demo.commands, ...commands },
    health: { window: '5s', sampleInterval: '1s', minRequests: 1 },
    escalation: { realertAfter: '1h', escalateAfter: '2h' },
  };
}

function git(dir: string, ...a: string[]): string[] {
  return execFileSync('git', a, { cwd: dir, encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

// ---- effects, counted in the adapters' journals (test/helpers/effects.ts) ----------------------
const effects = (repo: PathRepo) => countEffects(repo, [stateDir]);

// ---- the paths ------------------------------------------------------------------------------------
let client: Client;
const opts = { taskQueue, searchAttributes: true };

async function status(id: string): Promise<PipelineStatus | undefined> {
  // A query sent while the worker is being killed may wait for one that never answers it: ask
  // again on the next poll instead.
  return await client
    .withDeadline(Date.now() + 10_000, () => client.workflow.getHandle(id).query(statusQuery))
    .catch(() => undefined);
}

/** A path that hangs fails by itself and leaves the others their turn. */
async function withinPathTime<T>(name: string, run: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${name} did not finish within ${pathMinutes} minutes`)),
      pathMinutes * 60_000,
    );
  });
  try {
    return await Promise.race([run, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function settle(handle: WorkflowHandle): Promise<unknown> {
  return await handle.result().catch((err: unknown) => ({ failed: String(err) }));
}

/** Main-commit first (it builds, uploads to dev and tags v1.0.0), then the tag pipeline. */
async function releasedTag(repo: PathRepo): Promise<WorkflowHandle> {
  const commit = repo.releases[0]!;
  const main = await startMainCommit(client, { repository: repo.name, commit }, opts);
  const out = (await settle(client.workflow.getHandle(main.workflowId))) as { tag?: string };
  if (out.tag !== 'v1.0.0')
    throw new Error(`main-commit of ${repo.name} did not release: ${JSON.stringify(out)}`);
  const tag = await startTagRelease(client, { repository: repo.name, tag: 'v1.0.0', commit }, opts);
  return client.workflow.getHandle(tag.workflowId);
}

async function tagThenProduction(repo: PathRepo): Promise<WorkflowHandle> {
  const tag = await releasedTag(repo);
  const outcome = (await tag.result()) as { productionWorkflowId?: string };
  if (!outcome.productionWorkflowId) throw new Error(`tag of ${repo.name} handed off nothing`);
  return client.workflow.getHandle(outcome.productionWorkflowId);
}

async function breachThen(
  repo: PathRepo,
  decide: (h: WorkflowHandle) => Promise<void>,
): Promise<{ state?: string; hotfix?: { id: string; branch: string } }> {
  // Failing before production is deployed: set only once the watch runs, a 5 s watch slowed by
  // restarts could end healthy first (only production's traffic is read; staging's tests pass).
  const apm = new LocalMetricSource({ dir: path.join(stateDir, 'apm') });
  await apm.setErrorRate('production', 0.5);
  try {
    const production = await tagThenProduction(repo);
    const awaiting = await waitFor(
      async () => (await status(production.workflowId))?.awaitingDecision === true,
      180_000,
      250,
    );
    if (!awaiting) throw new Error(`production of ${repo.name} never awaited a decision`);
    await decide(production);
    return (await settle(production)) as { state?: string; hotfix?: { id: string; branch: string } };
  } finally {
    await apm.setErrorRate('production', 0);
  }
}

interface PathSpec {
  name: string;
  commands?: Record<string, unknown>;
  /** Runs the path; returns what must hold of its outcome and of its effects. */
  run: (repo: PathRepo) => Promise<{ ok: boolean; detail: string; expect: Partial<Tally> }>;
}

const PATHS: PathSpec[] = [
  {
    name: 'main-commit-released',
    run: async (repo) => {
      const main = await startMainCommit(client, { repository: repo.name, commit: repo.releases[0]! }, opts);
      const out = (await settle(client.workflow.getHandle(main.workflowId))) as {
        tag?: string;
        tagWorkflowId?: string;
      };
      // A local repository: the run started the tag pipeline; its effects are counted once it ends.
      const tag = out.tagWorkflowId
        ? ((await settle(client.workflow.getHandle(out.tagWorkflowId))) as { productionWorkflowId?: string })
        : {};
      if (tag.productionWorkflowId) await settle(client.workflow.getHandle(tag.productionWorkflowId));
      return {
        ok: out.tag === 'v1.0.0' && out.tagWorkflowId !== undefined,
        detail: JSON.stringify(out),
        // dev:<commit>, dev:v1.0.0 and prod:v1.0.0 (each deploy once: counted as duplicates).
        expect: { tags: 1, uploads: 3, branches: 0 },
      };
    },
  },
  {
    name: 'main-commit-no-release',
    run: async (repo) => {
      // Released up to the head already; a docs commit on top releases nothing.
      git(repo.dir, 'tag', 'v1.1.0', repo.releases[1]!);
      writeFileSync(path.join(repo.dir, 'NOTES.md'), 'notes\n');
      git(repo.dir, 'add', 'NOTES.md');
      execFileSync(
        'git',
        ['-c', 'user.name=chaos', '-c', 'user.email=c@x.invalid', 'commit', '-qm', 'docs: notes'],
        {
          cwd: repo.dir,
        },
      );
      const commit = git(repo.dir, 'rev-parse', 'HEAD')[0]!;
      const main = await startMainCommit(client, { repository: repo.name, commit }, opts);
      const out = (await settle(client.workflow.getHandle(main.workflowId))) as { tag?: string | null };
      return { ok: !out.tag && !('failed' in out), detail: JSON.stringify(out), expect: { tags: 1 } };
    },
  },
  {
    name: 'main-commit-failed',
    commands: { unitTests: FAIL },
    run: async (repo) => {
      const main = await startMainCommit(client, { repository: repo.name, commit: repo.releases[0]! }, opts);
      const h = client.workflow.getHandle(main.workflowId);
      await settle(h);
      const s = await status(main.workflowId);
      return { ok: s?.state === 'failed', detail: String(s?.state), expect: { tags: 0, deploys: 0 } };
    },
  },
  {
    name: 'tag-passed+production-healthy',
    run: async (repo) => {
      const production = await tagThenProduction(repo);
      const out = (await settle(production)) as { state?: string };
      return {
        ok: out.state === 'healthy',
        detail: JSON.stringify(out),
        expect: { tags: 1, branches: 0, tickets: 0 },
      };
    },
  },
  {
    name: 'tag-failed',
    commands: { integrationTests: FAIL_IN_STAGING },
    run: async (repo) => {
      const tag = await releasedTag(repo);
      await settle(tag);
      const s = await status(tag.workflowId);
      return {
        ok: s?.state === 'failed' && s.failure?.step === 'integration tests (staging)',
        detail: `${s?.state} at ${s?.failure?.step}`,
        // dev and staging each hold the artifact: staging's copy precedes its integration tests.
        expect: { tags: 1, uploads: 2 },
      };
    },
  },
  {
    name: 'tag-preempted',
    commands: { integrationTests: SLOW_IN_STAGING },
    run: async (repo) => {
      const tag = await releasedTag(repo);
      await waitFor(
        async () => (await status(tag.workflowId))?.step === 'integration tests (staging)',
        120_000,
        200,
      );
      const forcer = await client.workflow.start(lockProbeWorkflow, {
        taskQueue,
        workflowId: `chaos-emergency-${Date.now()}`,
        args: [
          { resource: 'staging', holdMs: 10, force: { by: 'ops', reason: 'SEV-1' }, priority: 'hotfix' },
        ],
      });
      await settle(tag);
      await settle(forcer);
      const s = await status(tag.workflowId);
      await client.workflow
        .getHandle(lockWorkflowId('staging'))
        .signal(setModeSignal, { mode: 'normal', by: 'chaos', reason: 'path done' });
      return { ok: s?.state === 'preempted', detail: String(s?.state), expect: { tags: 1 } };
    },
  },
  {
    name: 'production-rollback',
    run: async (repo) => {
      const out = await breachThen(repo, (h) => h.signal(rollbackSignal, { by: 'oncall', reason: 'chaos' }));
      return { ok: out.state === 'rolled-back', detail: JSON.stringify(out), expect: { branches: 0 } };
    },
  },
  {
    name: 'production-fail-forward',
    run: async (repo) => {
      const out = await breachThen(repo, async (h) => {
        await h.executeUpdate(decideUpdate, { args: [{ decision: 'failForward', by: 'oncall' }] });
      });
      return { ok: out.state === 'failed-forward', detail: JSON.stringify(out), expect: { branches: 0 } };
    },
  },
  {
    name: 'production-emergency',
    run: async (repo) => {
      const out = await breachThen(repo, (h) => h.signal(emergencySignal, { by: 'oncall', reason: 'chaos' }));
      await client.workflow
        .getHandle(lockWorkflowId('staging'))
        .signal(setModeSignal, { mode: 'normal', by: 'chaos', reason: 'path done' });
      return {
        ok: out.state === 'hotfix-pending',
        detail: JSON.stringify(out),
        expect: { branches: 1, tickets: 1, pages: 1 },
      };
    },
  },
  {
    // docs/pipelines-and-decisions.md "Hotfix flow": after an emergency, a fix on HOT-<n> is versioned, tagged, staged with
    // hotfix priority and watched healthy; then staging is back to normal, the pull request back
    // into main opened, the timeline on the page and the ticket, the ticket and incident closed.
    name: 'hotfix-released+healthy',
    run: async (repo) => {
      const broken = await breachThen(repo, (h) =>
        h.signal(emergencySignal, { by: 'oncall', reason: 'chaos' }),
      );
      if (broken.state !== 'hotfix-pending' || !broken.hotfix)
        throw new Error(`the emergency of ${repo.name} ended ${JSON.stringify(broken)}`);
      // Incident numbers are the state directory's: HOT-2 when another path had HOT-1.
      const { id, branch } = broken.hotfix;
      const fix = commitOn(repo.dir, branch, `fix(${id}): stop the errors v1.0.0 brought`);
      const started = await startHotfix(client, { repository: repo.name, branch, commit: fix }, opts);
      const hotfix = (await settle(client.workflow.getHandle(started.workflowId))) as {
        version?: string;
        tagWorkflowId?: string;
      };
      if (!hotfix.tagWorkflowId)
        throw new Error(`the hotfix of ${repo.name} ended ${JSON.stringify(hotfix)}`);
      const staged = (await settle(client.workflow.getHandle(hotfix.tagWorkflowId))) as {
        state?: string;
        productionWorkflowId?: string;
      };
      if (!staged.productionWorkflowId)
        throw new Error(`the hotfix's tag pipeline ended ${JSON.stringify(staged)}`);
      const watched = (await settle(client.workflow.getHandle(staged.productionWorkflowId))) as {
        state?: string;
      };
      const incident = (await new LocalIncidents(stateDir).list()).find(
        (i) => i.repository === repo.name && i.id === id,
      );
      const mode = (await client.workflow.getHandle(lockWorkflowId('staging')).query(lockStatusQuery)).mode
        .mode;
      // The ticket's final update closed it; the page has the timeline naming the hotfix version.
      const documents = (dir: string) =>
        walk(path.join(stateDir, dir), '.md')
          .map((f) => readFileSync(f, 'utf8'))
          .filter((t) => t.includes(repo.name));
      const ticketClosed = documents('tickets').some((t) => t.includes('- Status: closed'));
      const pageAppended = documents('wiki').some((t) => t.includes('v1.0.1'));
      const ok =
        ticketClosed &&
        pageAppended &&
        hotfix.version === 'v1.0.1' &&
        staged.state === 'promoted' &&
        watched.state === 'healthy' &&
        incident?.state === 'closed' &&
        incident.pullRequest !== null &&
        mode === 'normal';
      return {
        ok,
        detail: JSON.stringify({
          hotfix: hotfix.version,
          staged: staged.state,
          production: watched.state,
          incident: incident?.state,
          pullRequest: incident?.pullRequest,
          mode,
          ticketClosed,
          pageAppended,
        }),
        expect: { tags: 2, branches: 1, tickets: 1, pages: 1, pullRequests: 1 },
      };
    },
  },
];

/** Commits a change on `branch` in a worktree of its own (the clone stays on main); the new head. */
function commitOn(dir: string, branch: string, message: string): string {
  const tree = mkdtempSync(path.join(base, 'fix-'));
  git(dir, 'worktree', 'add', '-q', tree, branch);
  writeFileSync(path.join(tree, 'HOTFIX'), `${message}\n`);
  git(tree, 'add', 'HOTFIX');
  git(tree, '-c', 'user.name=chaos', '-c', 'user.email=c@x.invalid', 'commit', '-qm', message);
  const head = git(tree, 'rev-parse', 'HEAD')[0]!;
  git(dir, 'worktree', 'remove', '--force', tree);
  return head;
}

// ---- scenarios beyond the worker ------------------------------------------------------------------
let devServer: DevServer;
let cliPath = '';

async function startServer(): Promise<void> {
  devServer = await startDevServer({
    cliPath,
    port: 0,
    uiPort: 0,
    dbFile: path.join(base, 'temporal.db'),
    logFile: path.join(base, 'temporal-dev-server.log'),
  });
  forwarder.setTarget(devServer.address);
}

async function devServerRestartMidRelease(repo: PathRepo): Promise<{ ok: boolean; detail: string }> {
  const main = await startMainCommit(client, { repository: repo.name, commit: repo.releases[0]! }, opts);
  await waitFor(async () => ((await status(main.workflowId))?.steps.length ?? 0) >= 2, 60_000, 100);
  log('stopping the Temporal dev server mid-release');
  await devServer.stop();
  forwarder.setTarget(null);
  await new Promise((r) => setTimeout(r, 5_000));
  await startServer();
  log(`dev server started again (${devServer.address}, same database)`);
  const out = (await settle(client.workflow.getHandle(main.workflowId))) as { tag?: string };
  return { ok: out.tag === 'v1.0.0', detail: JSON.stringify(out) };
}

async function outboxWithTemporalDown(seconds: number): Promise<{
  deliveries: number;
  lost: number;
  startedTwice: number;
  p99Ms: number;
}> {
  const outboxDir = path.join(base, 'outbox');
  const queue = 'chaos-outbox-no-worker';
  const receiver = openWebhookReceiver({
    stateDir: outboxDir,
    repositories: validateConfig(
      { repositories: [{ ...demoRepositoryConfig(base), name: 'chaos/outbox' }] },
      {},
    ).repositories,
    secret: 'chaos-secret',
    client: () => client,
    taskQueue: queue,
    logger: createLogger('silent'),
    startTimeoutMs: 1_000,
    retryMinDelayMs: 200,
    retryMaxDelayMs: 2_000,
  });
  const http = await startHttpServer({ host: '127.0.0.1', port: 0, routes: receiver.routes });
  forwarder.setTarget(null);
  log(`Temporal unreachable; ${seconds}s of 50 deliveries/s into the outbox`);
  const answers: Promise<{ ms: number; status: number }>[] = [];
  const tags: string[] = [];
  const t0 = Date.now();
  for (let i = 0; i < seconds * 50; i++) {
    const due = t0 + i * 20;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const tag = `v9.${Math.floor(i / 1000)}.${i % 1000}`;
    tags.push(tag);
    const body = JSON.stringify({
      ref: `refs/tags/${tag}`,
      after: sha(i + 1),
      head_commit: { id: sha(i + 1) },
      repository: { full_name: 'chaos/outbox' },
    });
    const at = Date.now();
    answers.push(
      deliver(http.url, { event: 'push', body, secret: 'chaos-secret' }).then((a) => ({
        ms: Date.now() - at,
        status: a.status,
      })),
    );
  }
  const answered = await Promise.all(answers);
  log(`delivered ${answered.length}; Temporal back`);
  forwarder.setTarget(devServer.address);
  await waitFor(() => receiver.outbox.size() === 0, 300_000, 500);
  await http.close();
  await receiver.close();
  // Each tag push starts one run; count runs per id (a second start would be a second run).
  const runs = new Map<string, number>();
  for await (const wf of client.workflow.list({ query: `TaskQueue = '${queue}'` }))
    runs.set(wf.workflowId, (runs.get(wf.workflowId) ?? 0) + 1);
  const expected = tags.map((t) => `tag:chaos/outbox:${t}`);
  const lost = expected.filter((id) => !runs.has(id)).length + answered.filter((a) => a.status >= 300).length;
  const startedTwice = [...runs.values()].filter((n) => n > 1).length;
  const sorted = answered.map((a) => a.ms).sort((a, b) => a - b);
  for await (const wf of client.workflow.list({
    query: `TaskQueue = '${queue}' AND ExecutionStatus = 'Running'`,
  }))
    await client.workflow
      .getHandle(wf.workflowId)
      .terminate('chaos outbox check done')
      .catch(() => undefined);
  return {
    deliveries: answered.length,
    lost,
    startedTwice,
    p99Ms: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
  };
}

// ---- main -----------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const cli = lookup('cli', { root: projectRoot });
  if (Array.isArray(cli)) throw new Error('no Temporal CLI: run `npm run setup:temporal` first');
  cliPath = cli.path;
  forwarder = await tcpForwarder();
  await startServer();
  client = new Client({ connection: await Connection.connect({ address: forwarder.address }) });
  log(`dev server ${devServer.address} behind ${forwarder.address}; state in ${base}`);

  const selected = PATHS.filter((p) => !only || only.includes(p.name));
  const repos = new Map<string, PathRepo>();
  for (const p of selected) repos.set(p.name, await makeRepo(p.name.replace('+', '-')));
  const restartRepo = await makeRepo('dev-server-restart');
  writeFileSync(
    configFile,
    JSON.stringify({
      stateDir,
      temporal: { taskQueue },
      log: { level: 'error' },
      repositories: [
        ...selected.map((p) => repoConfig(repos.get(p.name)!, p.commands)),
        repoConfig(restartRepo),
      ],
    }),
  );
  bundlePath = path.join(base, 'workflow-bundle.js');
  const bundle = await bundleWorkflowCode({
    workflowsPath,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
  });
  writeFileSync(bundlePath, bundle.code);
  setCurrent(null);
  startWorker();

  const perPath: { path: string; ok: boolean; kills: number; seconds: number; tally: Tally }[] = [];
  let duplicates = 0;
  for (const p of selected) {
    const repo = repos.get(p.name)!;
    const before = kills().length;
    const t = Date.now();
    setCurrent(p.name);
    let outcome: { ok: boolean; detail: string; expect: Partial<Tally> };
    try {
      outcome = await withinPathTime(p.name, p.run(repo));
    } catch (err) {
      outcome = { ok: false, detail: String(err), expect: {} };
    }
    setCurrent(null);
    const { tally, duplicates: dups } = await effects(repo);
    duplicates += dups.length;
    for (const d of dups) log(`DUPLICATE in ${p.name}: ${d}`);
    check(outcome.ok, `${p.name} completed as expected: ${outcome.detail}`);
    for (const [k, v] of Object.entries(outcome.expect))
      check(tally[k as keyof Tally] === v, `${p.name}: ${k} = ${tally[k as keyof Tally]}, expected ${v}`);
    const n = kills().length - before;
    perPath.push({
      path: p.name,
      ok: outcome.ok,
      kills: n,
      seconds: Math.round((Date.now() - t) / 1000),
      tally,
    });
    log(
      `${p.name}: ${outcome.ok ? 'completed' : 'FAILED'} after ${n} kills in ${Math.round((Date.now() - t) / 1000)}s; effects ${JSON.stringify(tally)}`,
    );
  }

  const restart = await devServerRestartMidRelease(restartRepo);
  const restartEffects = await effects(restartRepo);
  duplicates += restartEffects.duplicates.length;
  check(restart.ok && restartEffects.tally.tags === 1, `dev server restart mid-release: ${restart.detail}`);
  log(
    `dev server restart mid-release: ${restart.ok ? 'completed' : 'FAILED'}; effects ${JSON.stringify(restartEffects.tally)}`,
  );

  const outbox = await outboxWithTemporalDown(outboxSeconds);
  check(outbox.lost === 0, `outbox lost ${outbox.lost}`);
  check(outbox.startedTwice === 0, `outbox started ${outbox.startedTwice} twice`);
  log(
    `outbox: ${outbox.deliveries} deliveries with Temporal down, lost ${outbox.lost}, started twice ${outbox.startedTwice}, answer p99 ${outbox.p99Ms} ms`,
  );

  await stopWorker();
  const all = kills();
  const boundaries = new Set(all.map((k) => `${k.path}/${k.family}/${k.activityType}/${k.phase}`)).size;
  const families = new Set(all.map((k) => `${k.family}/${k.activityType}`));
  log(
    `killed the worker at ${boundaries} boundaries (${families.size} activity types x phases), ${restarts} restarts`,
  );
  log(`exactly-once tally: ${duplicates} duplicate effects; ${failures.length} failed checks`);
  await client.connection.close();
  await devServer.stop();
  await forwarder.close();
  const summary = {
    boundaries,
    kills: all.length,
    restarts,
    duplicates,
    failures: failures.length,
    paths: perPath,
    devServerRestart: restart.ok,
    outbox,
    wallSeconds: Math.round((Date.now() - started) / 1000),
    mode: every ? 'every' : 'family',
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(failures.length === 0 && duplicates === 0 ? 0 : 1);
}

main().catch(async (err) => {
  console.error(err);
  await stopWorker().catch(() => undefined);
  await devServer?.stop().catch(() => undefined);
  process.stdout.write(
    `${JSON.stringify({ boundaries: 0, kills: kills().length, duplicates: -1, error: String(err) })}\n`,
  );
  process.exit(1);
});
