/**
 * The health watch after deploying to production: one APM sample per interval over the window,
 * judged by the health verdicts (`domain/health-verdict.ts`), until the verdict is no longer
 * `watching` or a newer version supersedes this one. The status shows the newest samples.
 */
import { condition, isCancellation } from '@temporalio/workflow';
import { explainWait } from '../../domain/decision-desk';
import {
  HealthVerdicts,
  judgeHealth,
  type HealthSample,
  type HealthVerdict,
  type HealthVerdictKind,
} from '../../domain/health-verdict';
import { describeFailure } from '../shared/steps';
import { iso, now, probes, setDesk, type ReleaseRun } from './release-run';

/** Samples shown in the status query. */
const STATUS_SAMPLES = 30;

export async function watchHealth(run: ReleaseRun): Promise<HealthVerdict> {
  const { settings, status, version } = run;
  const start = now();
  const end = start + settings.windowMs;
  setDesk(
    run,
    explainWait(run.desk, `production is being watched until ${iso(end)}; decide after a breach is alerted`),
  );
  run.statuses.post('pending', `${version} in production; watching its health until ${iso(end)}`);
  const samples: HealthSample[] = [];
  const health = {
    verdict: HealthVerdicts.watching as HealthVerdictKind,
    reason: 'watching: no sample yet',
    windowStart: iso(start),
    windowEnd: iso(end),
    sampleIntervalMs: settings.intervalMs,
    parameters: settings.parameters,
    sampleCount: 0,
    samples: [] as HealthSample[],
  };
  status.health = health;
  let from = start;
  for (;;) {
    const to = Math.min(from + settings.intervalMs, end);
    const wait = to - now();
    if (wait > 0) await condition(() => run.superseded !== undefined, wait);
    if (run.superseded)
      return {
        verdict: HealthVerdicts.watching,
        reason: `superseded by ${run.superseded.version}`,
      } as HealthVerdict;
    const sample = await measure(run, from, to);
    samples.push(sample);
    const v = judgeHealth({ samples, parameters: settings.parameters, window: { start, end }, now: to });
    health.verdict = v.verdict;
    health.reason = v.reason;
    health.sampleCount = samples.length;
    health.samples = samples.slice(-STATUS_SAMPLES);
    if (v.verdict !== HealthVerdicts.watching) return v;
    from = to;
  }
}

async function measure(run: ReleaseRun, from: number, to: number): Promise<HealthSample> {
  try {
    const sample = await probes.measureHealth.executeWithOptions(
      { summary: `health sample of ${run.version} in production up to ${iso(to)}` },
      [{ repository: run.repository, env: 'production', from, to }],
    );
    // The window is the workflow's clock: stamp the sample with the interval it answers.
    return { ...sample, at: to };
  } catch (err) {
    if (isCancellation(err)) throw err;
    return { at: to, queryError: describeFailure(err).message.split('\n')[0] ?? 'APM query failed' };
  }
}
