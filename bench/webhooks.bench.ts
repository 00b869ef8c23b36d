/**
 * `npm run bench:webhooks`: signed `push` deliveries (each a new commit) sent open-loop on
 * loopback to the receiver, backed by a dev server (no worker: the figure is request -> start).
 *
 * Default: a sustained RATE deliveries/s for SECONDS (500/s for 20 s; `--rate N --seconds N`),
 * after an untimed warm-up at 50/s for 2 s, posted by a load process of its own
 * (bench/webhook-load-process.ts). The receiver runs with the app's defaults (a start is waited
 * on up to 3 s, at most 8 at once: server.limits.webhookStartTimeout and webhookStartsInFlight;
 * `--start-timeout-ms N --starts-in-flight N` to try others), so it answers whether or not the
 * dev server has started the run yet; what it cannot start at once waits in the outbox and is
 * started by the drainer. Afterwards each expected run is described on the server by its id
 * (the visibility store lags on a busy server, so its count is printed beside, not trusted):
 * `lost` (a delivery without its runs, or answered other than 2xx, warm-up included) and
 * `startedOnce` (each run exactly once); the bench exits 1 unless `lost` is 0 and every run
 * started once. `--busy N` spins N processes while sending and draining (a loaded machine). The dev server's own
 * start rate (direct client starts, 64 in flight) is printed beside the offered rate, and the
 * receiver's event-loop delay and the answers' p99 per second of sending beside the totals.
 * `--sweep`: the older rate ladder (25 to 800/s, 3 s each, until p99 reaches 100 ms or a
 * delivery is not started at once). `BENCH_LOG=info` prints the receiver's log lines.
 * Last line: one JSON object.
 */
import '../test/helpers/runtime';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WorkflowNotFoundError } from '@temporalio/client';
import { parseDuration } from '../src/common/duration';
import { validateConfig } from '../src/config/load';
import { startHttpServer } from '../src/http/server';
import { createLogger } from '../src/common/logging';
import { openWebhookReceiver } from '../src/http/webhooks/webhook-receiver';
import { devServerEnv, unique } from '../test/helpers/temporal-env';
import { startCpuLoad } from './cpu-load';
import { percentile } from './figures';
import { SECRET } from './webhook-load';
import { sendFromChildProcess } from './webhook-load-process';
import { runHostileBench } from './webhooks-hostile';

const RATES = [25, 50, 100, 200, 400, 800];
const STEP_SECONDS = 3;
const P99_BUDGET_MS = 100;

interface Step {
  rate: number;
  sent: number;
  ok: number;
  failed: number;
  achievedRate: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const round = (x: number) => Math.round(x * 10) / 10;

async function sweep(): Promise<void> {
  const env = await devServerEnv();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-bench-webhooks-'));
  const receiver = openWebhookReceiver({
    stateDir,
    repositories: [{ name: 'bench/app', defaultBranch: 'main', releaseTagPattern: '^v\\d+\\.\\d+\\.\\d+$' }],
    secret: SECRET,
    client: () => env.client,
    taskQueue: unique('bench-webhooks'),
    logger: createLogger('silent'),
  });
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, routes: receiver.routes });
  const steps: Step[] = [];
  let n = 0;
  try {
    for (const rate of RATES) {
      const count = rate * STEP_SECONDS;
      const commits = Array.from({ length: count }, () => (++n).toString(16).padStart(40, '0'));
      const load = await sendFromChildProcess({ port: server.port, rate, commits });
      const latencies = load.answers.map(([, ms]) => ms);
      const ok = load.answers.filter(([status]) => status === 201).length;
      const failed = load.errors + load.answers.length - ok;
      const elapsed = load.seconds;
      const step: Step = {
        rate,
        sent: count,
        ok,
        failed,
        achievedRate: round(count / elapsed),
        p50Ms: round(percentile(latencies, 50)),
        p99Ms: round(percentile(latencies, 99)),
        maxMs: round(Math.max(...latencies)),
      };
      steps.push(step);
      console.log(
        `rate ${rate}/s: sent ${step.sent}, started ${ok}, failed ${failed}, achieved ${step.achievedRate}/s, p50 ${step.p50Ms} ms, p99 ${step.p99Ms} ms, max ${step.maxMs} ms`,
      );
      if (step.p99Ms >= P99_BUDGET_MS || failed > 0) break;
    }
  } finally {
    await server.close();
    await receiver.close();
    await env.teardown();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
  const held = steps.filter((s) => s.p99Ms < P99_BUDGET_MS && s.failed === 0);
  const best = held[held.length - 1];
  console.log(
    JSON.stringify({
      bench: 'webhooks',
      stepSeconds: STEP_SECONDS,
      p99BudgetMs: P99_BUDGET_MS,
      maxRateWithP99Under100Ms: best?.rate ?? 0,
      p50MsAtMaxRate: best?.p50Ms ?? null,
      p99MsAtMaxRate: best?.p99Ms ?? null,
      steps,
    }),
  );
}

const args = process.argv.slice(2);
const numberArg = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  const n = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} expects a positive number, got ${args[i + 1]}`);
  return n;
};
/** The receiver's limits, as the app's defaults set them. */
const limits = validateConfig({}, {}).server.limits;
const ANSWER_BUDGET_MS = numberArg('--start-timeout-ms', parseDuration(limits.webhookStartTimeout));
const STARTS_IN_FLIGHT = numberArg('--starts-in-flight', limits.webhookStartsInFlight);
/** A distinct 40-hex commit per delivery: `prefix` keeps the warm-up's apart from the timed ones. */
const commitHash = (prefix: string, i: number) => prefix + i.toString(16).padStart(39, '0');

/** Untimed deliveries first (their runs are counted like the others); see LoadJob.warmup. */
const WARMUP_RATE = 50;
const WARMUP_SECONDS = 2;
const START_RATE_PROBE = 2_000;

/**
 * Every run of the bench's task queue in the server's visibility store, counted by id (a second
 * start of an id would be a second run). Visibility lags the starts, and on a busy server by
 * more than seconds, so this is not the count of what was started (see describeEach); it is
 * repeated until it holds `expected` runs or stops growing for 10 s.
 */
async function runsOnServer(
  env: Awaited<ReturnType<typeof devServerEnv>>,
  taskQueue: string,
  expected: number,
): Promise<Map<string, number>> {
  let runs = new Map<string, number>();
  let grewAt = performance.now();
  for (;;) {
    const listed = new Map<string, number>();
    for await (const wf of env.client.workflow.list({ query: `TaskQueue = '${taskQueue}'` }))
      listed.set(wf.workflowId, (listed.get(wf.workflowId) ?? 0) + 1);
    if (listed.size > runs.size) grewAt = performance.now();
    runs = listed;
    if (runs.size >= expected || performance.now() - grewAt > 10_000) return runs;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/**
 * Every expected workflow id described on the server: the record of what was started, read
 * from the workflow's own state rather than the visibility store. `notFound` ids have no run at
 * all; `closed` ones have a run that is no longer running (nothing here closes a run: no worker
 * polls the bench's task queue, so a closed run would mean something ended or replaced it).
 */
async function describeEach(
  env: Awaited<ReturnType<typeof devServerEnv>>,
  ids: readonly string[],
): Promise<{ running: number; notFound: string[]; closed: string[] }> {
  const notFound: string[] = [];
  const closed: string[] = [];
  let running = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        for (let attempt = 1; ; attempt++) {
          try {
            const d = await env.client.workflow.getHandle(id).describe();
            if (d.status.name === 'RUNNING') running++;
            else closed.push(`${id} (${d.status.name})`);
            break;
          } catch (err) {
            if (err instanceof WorkflowNotFoundError) {
              notFound.push(id);
              break;
            }
            // A busy server sheds the odd call: ask again, a few times.
            if (attempt >= 5) throw err;
            await new Promise((r) => setTimeout(r, 200 * attempt));
          }
        }
      }
    }),
  );
  return { running, notFound, closed };
}

/** The p99 answer time of the deliveries sent in each second: where in the run the slow ones were. */
function p99BySecond(answers: [number, number, number][]): number[] {
  const bySecond: number[][] = [];
  for (const [, ms, sentAt] of answers) (bySecond[Math.floor(sentAt / 1000)] ??= []).push(ms);
  return [...bySecond].map((ms) => (ms ? Math.round(percentile(ms, 99)) : 0));
}

/** Starts per second the dev server manages by itself: direct client starts, 64 in flight. */
async function devServerStartRate(env: Awaited<ReturnType<typeof devServerEnv>>): Promise<number> {
  const taskQueue = unique('bench-start-rate');
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < START_RATE_PROBE) {
        const n = next++;
        await env.client.workflow.start('mainCommitWorkflow', {
          taskQueue,
          workflowId: `bench-rate-${taskQueue}-${n}`,
          args: [{ repository: 'bench/app', commit: n.toString(16).padStart(40, '0') }],
        });
      }
    }),
  );
  return round(START_RATE_PROBE / ((performance.now() - t0) / 1000));
}

async function sustained(): Promise<void> {
  const rate = numberArg('--rate', 500);
  const seconds = numberArg('--seconds', 20);
  const busy = args.includes('--busy') ? numberArg('--busy', 1) : 0;
  const count = Math.round(rate * seconds);
  const env = await devServerEnv();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-bench-webhooks-'));
  const taskQueue = unique('bench-webhooks');
  const receiver = openWebhookReceiver({
    stateDir,
    repositories: [{ name: 'bench/app', defaultBranch: 'main', releaseTagPattern: '^v\\d+\\.\\d+\\.\\d+$' }],
    secret: SECRET,
    client: () => env.client,
    taskQueue,
    logger: createLogger(process.env.BENCH_LOG ?? 'silent'),
    startTimeoutMs: ANSWER_BUDGET_MS,
    maxStartsInFlight: STARTS_IN_FLIGHT,
  });
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, routes: receiver.routes });
  const statuses = new Map<number, number>();
  const commits = Array.from({ length: count }, (_, i) => commitHash('b', i));
  const warmup = {
    rate: WARMUP_RATE,
    commits: Array.from({ length: WARMUP_RATE * WARMUP_SECONDS }, (_, i) => commitHash('a', i)),
  };
  const cpu = startCpuLoad(busy);
  let failed = false;
  try {
    console.log(
      `warming up at ${WARMUP_RATE}/s for ${WARMUP_SECONDS} s, then sending ${rate}/s for ${seconds} s from a load process of its own (a start waited on up to ${ANSWER_BUDGET_MS} ms, ${STARTS_IN_FLIGHT} at once${busy ? `; ${busy} spinning processes load the machine` : ''}) ...`,
    );
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    const load = await sendFromChildProcess({ port: server.port, rate, commits, warmup });
    loopDelay.disable();
    const latencies = load.answers.map(([, ms]) => ms);
    console.log(
      `receiver event loop delay while sending: p99 ${round(loopDelay.percentile(99) / 1e6)} ms, max ${round(loopDelay.max / 1e6)} ms`,
    );
    for (const [status] of load.answers) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    const errors = load.errors;
    const sendSeconds = load.seconds;
    console.log(`answer p99 by second of sending (ms): ${p99BySecond(load.answers).join(' ')}`);
    const queuedPeak = receiver.outbox.size();
    console.log(`sent in ${round(sendSeconds)} s; ${queuedPeak} starts still in the outbox; draining ...`);
    const drainStart = performance.now();
    while (receiver.outbox.size() > 0 && performance.now() - drainStart < 600_000)
      await new Promise((r) => setTimeout(r, 250));
    const drainSeconds = round((performance.now() - drainStart) / 1000);
    const loadAverage = cpu.loadAverage();
    await cpu.stop();
    // Every push asks for two runs: its main-commit pipeline and the re-check of open PRs.
    const expected = [...warmup.commits, ...commits].flatMap((c) => [
      `main-commit:bench/app:${c}`,
      `pr-recheck:bench/app:${c}`,
    ]);
    // The visibility store first, as it stands when the outbox is empty (it may lag), then
    // the record of each run, then the visibility store again for runs started twice.
    const visibleAtDrainEnd = (await runsOnServer(env, taskQueue, expected.length)).size;
    console.log(`describing each of the ${expected.length} expected runs ...`);
    const described = await describeEach(env, expected);
    const visible =
      visibleAtDrainEnd < expected.length
        ? await runsOnServer(env, taskQueue, expected.length)
        : await runsOnServer(env, taskQueue, 0);
    const commitOf = (id: string) => id.slice(id.lastIndexOf(':') + 1);
    const missing = new Set(described.notFound.map(commitOf)).size;
    const refusedStatus = (byStatus: Iterable<[string | number, number]>) =>
      [...byStatus].filter(([s]) => Number(s) >= 300).reduce((a, [, n]) => a + n, 0);
    const refused = errors + refusedStatus(statuses) + refusedStatus(Object.entries(load.warmupStatuses));
    const lost = Math.max(missing, refused);
    const startedTwice = [...visible].filter(([, n]) => n > 1).map(([id]) => id);
    const startedOnce =
      lost === 0 &&
      described.running === expected.length &&
      startedTwice.length === 0 &&
      receiver.outbox.size() === 0;
    console.log('measuring the dev server start rate by itself ...');
    const devServerStartsPerSecond = await devServerStartRate(env);
    const p99Ms = round(percentile(latencies, 99));
    const summary = {
      bench: 'webhooks',
      ratePerSecond: rate,
      seconds,
      deliveries: count,
      warmupDeliveries: warmup.commits.length,
      achievedRatePerSecond: round(count / sendSeconds),
      p50Ms: round(percentile(latencies, 50)),
      p99Ms,
      maxMs: round(Math.max(...latencies)),
      answers: Object.fromEntries([...statuses].map(([s, n]) => [String(s), n])),
      warmupAnswers: load.warmupStatuses,
      lost,
      startedOnce,
      runs: described.running,
      expectedRuns: expected.length,
      notFound: described.notFound.length,
      closedRuns: described.closed.length,
      visibleRuns: visible.size,
      visibleRunsAtDrainEnd: visibleAtDrainEnd,
      drainSeconds,
      busyProcesses: busy,
      loadAverageMax: loadAverage.max,
      loadAverageAtDrainEnd: loadAverage.last,
      devServerStartsPerSecond,
      offeredToDevServerRatio: round(rate / devServerStartsPerSecond),
      answerBudgetMs: ANSWER_BUDGET_MS,
      startsInFlight: STARTS_IN_FLIGHT,
      p99UnderBudget: p99Ms < P99_BUDGET_MS,
    };
    console.log(
      `answers p50 ${summary.p50Ms} ms, p99 ${p99Ms} ms (budget ${P99_BUDGET_MS} ms), lost ${lost}, started once: ${startedOnce} (${described.running} of ${expected.length} runs described running; ${visibleAtDrainEnd} in the visibility store when the outbox was empty, ${visible.size} after)`,
    );
    console.log(
      `load average (1 min) while sending and draining: max ${loadAverage.max}, at the end ${loadAverage.last}`,
    );
    console.log(
      `dev server by itself: ${devServerStartsPerSecond} starts/s; offered ${rate} deliveries/s (${summary.offeredToDevServerRatio}x)`,
    );
    for (const id of described.notFound.slice(0, 20)) console.log(`not started: ${id}`);
    for (const id of described.closed.slice(0, 20)) console.log(`closed: ${id}`);
    for (const id of startedTwice.slice(0, 20)) console.log(`started twice: ${id}`);
    console.log(JSON.stringify(summary));
    failed = !startedOnce;
  } finally {
    await cpu.stop();
    await server.close();
    await receiver.close();
    await env.teardown();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
  if (failed) {
    console.error('bench:webhooks: a delivery was lost or a run started other than once (see above)');
    process.exitCode = 1;
  }
}

// `--hostile` runs the hostile-load benchmark instead (bench/webhooks-hostile.ts).
(args.includes('--hostile') ? runHostileBench() : args.includes('--sweep') ? sweep() : sustained()).catch(
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
