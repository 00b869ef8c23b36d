/**
 * `npm run bench:pipeline` (docs/testing.md "Benchmarks"): with activities that do no work, on one dev
 * server and one worker (its own process, a prebuilt bundle):
 *
 * - Overhead: the wall time of a full release (start main-commit, start tag with its tag, await
 *   the production child the tag pipeline starts) against a bare workflow making the same
 *   activity calls and the same fired timers in the same order, sized from the release's own
 *   histories. Medians of interleaved rounds; goal: ratio at most 1.5.
 * - Load: 100 releases of 100 repositories at once: completion time, per-release latency, and
 *   the worker's peak RSS (kernel VmHWM of the worker process; goal under 400 MB). The
 *   repository lock serialises one repository only; the staging lock serialises the staging
 *   stage of every release by design, so it is the shared bottleneck: the time staging was held
 *   is reported beside the completion time.
 *
 * Production watches health for 3 s with a sample a second (`minRequests: 1`), handed over by the
 * stubbed repositorySettings. Bounded: every phase has a deadline. Last line: JSON.
 */
import '../test/helpers/runtime';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { tsToMs } from './proto-time';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflowCode } from '@temporalio/worker';
import { mainCommitWorkflow } from '../src/workflows/main-commit/main-commit-workflow';
import { pipelineWorkflowId } from '../src/workflows/shared/messages';
import { type productionReleaseWorkflow } from '../src/workflows/production/production-release-workflow';
import { tagReleaseWorkflow } from '../src/workflows/tag/tag-release-workflow';
import { devServerEnv, unique } from '../test/helpers/temporal-env';
import { bareReleaseWorkflow, type BareStep } from './bare-release-workflow';
import type { PipelineWorkerMessage, PipelineWorkerSpec } from './pipeline-worker';
import { percentile } from './figures';

type Event = temporal.api.history.v1.IHistoryEvent;

const ROUNDS = 5;
const CONCURRENT = 100;
const HEALTH = { window: '3s', sampleInterval: '1s', parameters: { minRequests: 1 } };
const RSS_GOAL_MB = 400;
const RATIO_GOAL = 1.5;
const DEADLINES = { workerStart: 60_000, overhead: 120_000, load: 240_000, workerStop: 15_000 };
const SAMPLE_EVERY_MS = 100;

interface Release {
  ms: number;
  ids: { main: string; tag: string; production: string };
}

async function release(client: Client, taskQueue: string, repository: string): Promise<Release> {
  const commit = randomBytes(20).toString('hex');
  const t0 = performance.now();
  const main = pipelineWorkflowId('main-commit', repository, commit);
  const built = await client.workflow.execute(mainCommitWorkflow, {
    taskQueue,
    workflowId: main,
    args: [{ repository, commit }],
  });
  if (built.state !== 'released' || !built.tag) throw new Error(`${main} ended ${built.state}`);
  const tag = pipelineWorkflowId('tag', repository, built.tag);
  const tagged = await client.workflow.execute(tagReleaseWorkflow, {
    taskQueue,
    workflowId: tag,
    args: [{ repository, tag: built.tag, commit }],
  });
  if (tagged.state !== 'promoted' || !tagged.productionWorkflowId)
    throw new Error(`${tag} ended ${tagged.state}`);
  const production = tagged.productionWorkflowId;
  const watched = await client.workflow.getHandle<typeof productionReleaseWorkflow>(production).result();
  if (watched.state !== 'healthy') throw new Error(`${production} ended ${watched.state}: ${watched.reason}`);
  return { ms: performance.now() - t0, ids: { main, tag, production } };
}

async function bare(client: Client, taskQueue: string, plan: BareStep[]): Promise<number> {
  const t0 = performance.now();
  await client.workflow.execute(bareReleaseWorkflow, { taskQueue, workflowId: unique('bare'), args: [plan] });
  return performance.now() - t0;
}

async function events(client: Client, workflowId: string): Promise<Event[]> {
  return (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}

/** The activity calls and fired timers of one history, in order (cancelled timers cost no wait). */
function stepsOf(history: Event[]): BareStep[] {
  const fired = new Set(
    history.flatMap((e) =>
      e.timerFiredEventAttributes ? [String(e.timerFiredEventAttributes.startedEventId)] : [],
    ),
  );
  return history.flatMap((e): BareStep[] => {
    if (e.activityTaskScheduledEventAttributes) return [{ kind: 'activity' }];
    const timer = e.timerStartedEventAttributes;
    if (timer && fired.has(String(e.eventId)))
      return [{ kind: 'timer', ms: tsToMs(timer.startToFireTimeout) }];
    return [];
  });
}

const count = (history: Event[], has: (e: Event) => unknown) => history.filter((e) => has(e)).length;

/** How long a tag pipeline held the staging lock: granted, to its `release` signal sent. */
function stagingHeldMs(history: Event[]): number {
  const granted = history.find(
    (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'lockGranted',
  );
  const released = history.find(
    (e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === 'release',
  );
  if (!granted || !released) return NaN;
  return tsToMs(released.eventTime) - tsToMs(granted.eventTime);
}

const round = (x: number, digits = 0) => Number(x.toFixed(digits));

async function withDeadline<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resident and peak resident set of a process in MB, from /proc (Linux); undefined elsewhere. */
function memoryOf(pid: number): { rssMb: number; peakMb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

async function startWorker(spec: PipelineWorkerSpec): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'pipeline-worker.ts')], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, PIPELINE_BENCH_WORKER: JSON.stringify(spec) },
  });
  await withDeadline(
    'worker start',
    DEADLINES.workerStart,
    new Promise<void>((resolve, reject) => {
      child.on('message', (m: PipelineWorkerMessage) =>
        'ready' in m ? resolve() : reject(new Error(`worker failed: ${m.failed}`)),
      );
      child.on('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready`)));
    }),
  );
  return child;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.send('stop');
  try {
    await withDeadline('worker stop', DEADLINES.workerStop, exited);
  } catch {
    child.kill('SIGKILL');
    await exited;
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rf-bench-pipeline-'));
  const env = await devServerEnv();
  const taskQueue = unique('bench-pipeline');
  const bundle = await bundleWorkflowCode({
    workflowsPath: path.join(__dirname, 'bench-workflows.ts'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
  });
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  let worker: ChildProcess | undefined;
  let figures: object | undefined;
  try {
    worker = await startWorker({
      address: env.address,
      namespace: env.namespace ?? 'default',
      taskQueue,
      bundlePath,
      production: { health: HEALTH },
    });
    const pid = worker.pid as number;
    const client = env.client;

    // Overhead: one release sizes the floor (and warms the worker), then interleaved rounds.
    const { plan, histories } = await withDeadline(
      'warm-up release',
      DEADLINES.overhead,
      (async () => {
        const first = await release(client, taskQueue, unique('repo-warm'));
        const histories = {
          main: await events(client, first.ids.main),
          tag: await events(client, first.ids.tag),
          production: await events(client, first.ids.production),
        };
        const plan = [
          ...stepsOf(histories.main),
          ...stepsOf(histories.tag),
          ...stepsOf(histories.production),
        ];
        await bare(client, taskQueue, plan);
        return { plan, histories };
      })(),
    );
    const releaseMs: number[] = [];
    const bareMs: number[] = [];
    await withDeadline(
      'overhead rounds',
      DEADLINES.overhead,
      (async () => {
        for (let i = 0; i < ROUNDS; i++) {
          releaseMs.push((await release(client, taskQueue, unique('repo'))).ms);
          bareMs.push(await bare(client, taskQueue, plan));
        }
      })(),
    );
    const all = [...histories.main, ...histories.tag, ...histories.production];
    const activities = (h: Event[]) => count(h, (e) => e.activityTaskScheduledEventAttributes);
    const timerMs = plan.reduce((n, s) => n + (s.kind === 'timer' ? s.ms : 0), 0);
    const overhead = {
      rounds: ROUNDS,
      activityCalls: activities(all),
      activityCallsByStage: {
        main: activities(histories.main),
        tag: activities(histories.tag),
        production: activities(histories.production),
      },
      firedTimers: plan.filter((s) => s.kind === 'timer').length,
      timerMs,
      timersStarted: count(all, (e) => e.timerStartedEventAttributes),
      historyEvents: all.length,
      stagingHeldAloneMs: round(stagingHeldMs(histories.tag)),
      releaseP50Ms: round(percentile(releaseMs, 50)),
      bareP50Ms: round(percentile(bareMs, 50)),
      ratio: round(percentile(releaseMs, 50) / percentile(bareMs, 50), 2),
      // Without the timers both sides wait on: the orchestration cost alone.
      ratioExcludingTimers: round(
        (percentile(releaseMs, 50) - timerMs) / (percentile(bareMs, 50) - timerMs),
        2,
      ),
    };

    // Load: CONCURRENT releases of distinct repositories, RSS sampled throughout.
    const baselineMb = memoryOf(pid)?.rssMb ?? NaN;
    let sampledPeakMb = baselineMb;
    const sampler = setInterval(() => {
      const m = memoryOf(pid);
      if (m) sampledPeakMb = Math.max(sampledPeakMb, m.rssMb);
    }, SAMPLE_EVERY_MS);
    const t0 = performance.now();
    let releases: Release[];
    try {
      releases = await withDeadline(
        `${CONCURRENT} concurrent releases`,
        DEADLINES.load,
        Promise.all(
          Array.from({ length: CONCURRENT }, (_, i) => release(client, taskQueue, `bench/repo-${i}`)),
        ),
      );
    } finally {
      clearInterval(sampler);
    }
    const completionMs = performance.now() - t0;
    const peakMb = memoryOf(pid)?.peakMb ?? NaN;
    const held = await Promise.all(releases.map(async (r) => stagingHeldMs(await events(client, r.ids.tag))));
    const stagingHeldTotalMs = held.reduce((a, b) => a + b, 0);
    const latencies = releases.map((r) => r.ms);
    const load = {
      releases: CONCURRENT,
      completionS: round(completionMs / 1000, 1),
      releaseP50S: round(percentile(latencies, 50) / 1000, 1),
      releaseMaxS: round(Math.max(...latencies) / 1000, 1),
      stagingHeldTotalS: round(stagingHeldTotalMs / 1000, 1),
      stagingHeldP50Ms: round(percentile(held, 50)),
      stagingShareOfCompletion: round(stagingHeldTotalMs / completionMs, 2),
      workerBaselineRssMb: round(baselineMb),
      workerSampledPeakRssMb: round(sampledPeakMb),
      workerPeakRssMb: round(peakMb),
    };

    console.log(
      `overhead: ${overhead.activityCalls} activity calls (main ${overhead.activityCallsByStage.main}, tag ${overhead.activityCallsByStage.tag}, production ${overhead.activityCallsByStage.production}), ${overhead.firedTimers} fired timers (${timerMs} ms), ${overhead.historyEvents} history events`,
    );
    console.log(
      `  full release p50 ${overhead.releaseP50Ms} ms, bare workflow p50 ${overhead.bareP50Ms} ms over ${ROUNDS} rounds`,
    );
    console.log(
      `  ratio ${overhead.ratio} (goal <= ${RATIO_GOAL}); without the ${timerMs} ms of timers: ${overhead.ratioExcludingTimers}`,
    );
    console.log(`load: ${CONCURRENT} concurrent releases of distinct repositories on one worker`);
    console.log(
      `  completion ${load.completionS} s; per release p50 ${load.releaseP50S} s, max ${load.releaseMaxS} s`,
    );
    console.log(
      `  staging lock held ${load.stagingHeldTotalS} s in total (p50 ${load.stagingHeldP50Ms} ms per release, ${overhead.stagingHeldAloneMs} ms alone): ${Math.round(load.stagingShareOfCompletion * 100)}% of the completion time; staging is the shared bottleneck by design (one release on staging at a time)`,
    );
    console.log(
      `  worker RSS: ${load.workerBaselineRssMb} MB before, peak ${load.workerPeakRssMb} MB (VmHWM; sampled ${load.workerSampledPeakRssMb} MB) (goal < ${RSS_GOAL_MB} MB)`,
    );
    figures = {
      ...overhead,
      ratioGoal: RATIO_GOAL,
      health: HEALTH,
      load,
      rssGoalMb: RSS_GOAL_MB,
      bottleneck: 'staging lock (by design)',
    };
  } finally {
    if (worker) await stopWorker(worker);
    await env.teardown();
    rmSync(dir, { recursive: true, force: true });
  }
  // After the worker and server are gone, so nothing they say follows it.
  console.log(JSON.stringify(figures));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
