/**
 * Production health from APM samples (docs/pipelines-and-decisions.md "Release rules"): healthy, breach, not enough data,
 * or inconclusive when the APM itself cannot be read. One noisy sample never pages anyone,
 * and an APM outage never passes for an all-clear nor for a breach.
 *
 * Modelled on Argo Rollouts' analysis: `consecutiveBadSamples` plays `failureLimit` (but
 * consecutive, not cumulative), `consecutiveQueryErrors` plays `consecutiveErrorLimit`, and
 * `minJudgedSamples` is our `inconclusiveLimit`: too little traffic to judge ends as
 * `not-enough-data`, which a person must look at.
 */

/** Counts read from the APM for one interval. */
export interface MeasuredSample {
  /** When the interval ended, epoch milliseconds. */
  at: number;
  requests: number;
  errors: number;
}

/** A query the APM could not answer (timeout, 5xx, bad credentials...). */
export interface FailedSample {
  at: number;
  queryError: string;
}

export type HealthSample = MeasuredSample | FailedSample;

/**
 * The parameters of a health watch.
 *
 * - `maxErrorRate`: a sample is bad when `errors / requests` is strictly above this (0.05 = 5 %).
 * - `minRequests`: a sample with fewer requests is *quiet*: too little traffic to judge; it is
 *   neither good nor bad and neither extends nor resets a run of bad samples.
 * - `consecutiveBadSamples`: this many bad samples in a row (quiet samples and query errors in
 *   between are skipped) is a breach, decided at once, before the window ends.
 * - `consecutiveQueryErrors`: this many failed queries in a row ends the watch as
 *   `inconclusive`; any answered query resets the count. Query errors are never bad samples.
 * - `minJudgedSamples`: at the end of the window, fewer judged (non-quiet) samples than this is
 *   `not-enough-data` rather than `healthy`.
 */
export interface HealthParameters {
  maxErrorRate: number;
  minRequests: number;
  consecutiveBadSamples: number;
  consecutiveQueryErrors: number;
  minJudgedSamples: number;
}

export const defaultHealthParameters: HealthParameters = {
  maxErrorRate: 0.05,
  minRequests: 50,
  consecutiveBadSamples: 3,
  consecutiveQueryErrors: 5,
  minJudgedSamples: 3,
};

export const HealthVerdicts = {
  /** The window is still open and nothing is decided yet. */
  watching: 'watching',
  healthy: 'healthy',
  breach: 'breach',
  /** The window closed with too few judged samples: low traffic, not proof of health. */
  notEnoughData: 'not-enough-data',
  /** The APM could not be read often enough in a row: nothing is known. */
  inconclusive: 'inconclusive',
} as const;
export type HealthVerdictKind = (typeof HealthVerdicts)[keyof typeof HealthVerdicts];

export interface HealthVerdict {
  verdict: HealthVerdictKind;
  /** One line for alerts and the status query. */
  reason: string;
  /** When the verdict became certain (the deciding sample or the window's end), epoch ms; null while watching. */
  decidedAt: number | null;
  judgedSamples: number;
  badSamples: number;
  quietSamples: number;
  queryErrors: number;
  /** The highest error rate seen in a judged sample, or null when none was judged. */
  worstErrorRate: number | null;
}

export interface HealthWatch {
  samples: readonly HealthSample[];
  parameters: HealthParameters;
  /** The monitoring window, epoch ms; samples outside it are ignored. */
  window: { start: number; end: number };
  /** The current time (the workflow clock), epoch ms: the window is closed when `now >= end`. */
  now: number;
}

/** Problems with parameters, empty when usable; config validation reports them. */
export function healthParameterProblems(p: HealthParameters): string[] {
  const problems: string[] = [];
  if (!(p.maxErrorRate >= 0 && p.maxErrorRate <= 1)) problems.push('maxErrorRate must be between 0 and 1');
  if (!(Number.isInteger(p.minRequests) && p.minRequests >= 1))
    problems.push('minRequests must be an integer >= 1');
  for (const key of ['consecutiveBadSamples', 'consecutiveQueryErrors', 'minJudgedSamples'] as const) {
    if (!(Number.isInteger(p[key]) && p[key] >= 1)) problems.push(`${key} must be an integer >= 1`);
  }
  return problems;
}

function percent(rate: number): string {
  return `${(rate * 100).toFixed(2).replace(/\.?0+$/, '')}%`;
}

/** The verdict on the samples so far; call again with each new sample. */
export function judgeHealth(watch: HealthWatch): HealthVerdict {
  const p = watch.parameters;
  const samples = watch.samples
    .filter((s) => s.at >= watch.window.start && s.at <= watch.window.end)
    .slice()
    .sort((a, b) => a.at - b.at);
  const tally = { judgedSamples: 0, badSamples: 0, quietSamples: 0, queryErrors: 0 };
  let worst: number | null = null;
  let badRun = 0;
  let errorRun = 0;
  const verdict = (kind: HealthVerdictKind, reason: string, decidedAt: number | null): HealthVerdict => ({
    verdict: kind,
    reason,
    decidedAt,
    ...tally,
    worstErrorRate: worst,
  });

  for (const sample of samples) {
    if ('queryError' in sample) {
      tally.queryErrors++;
      errorRun++;
      if (errorRun >= p.consecutiveQueryErrors) {
        return verdict(
          HealthVerdicts.inconclusive,
          `${errorRun} APM queries failed in a row (last: ${sample.queryError}): health unknown`,
          sample.at,
        );
      }
      continue;
    }
    errorRun = 0;
    if (sample.requests < p.minRequests) {
      tally.quietSamples++;
      continue;
    }
    tally.judgedSamples++;
    const rate = sample.errors / sample.requests;
    worst = worst === null ? rate : Math.max(worst, rate);
    if (rate > p.maxErrorRate) {
      tally.badSamples++;
      badRun++;
      if (badRun >= p.consecutiveBadSamples) {
        return verdict(
          HealthVerdicts.breach,
          `error rate above ${percent(p.maxErrorRate)} in ${badRun} samples in a row (last ${percent(rate)}, ` +
            `${sample.errors}/${sample.requests})`,
          sample.at,
        );
      }
    } else {
      badRun = 0;
    }
  }

  if (watch.now < watch.window.end) {
    return verdict(HealthVerdicts.watching, `watching: ${tally.judgedSamples} samples judged so far`, null);
  }
  if (tally.judgedSamples < p.minJudgedSamples) {
    return verdict(
      HealthVerdicts.notEnoughData,
      `only ${tally.judgedSamples} samples had at least ${p.minRequests} requests (need ${p.minJudgedSamples})`,
      watch.window.end,
    );
  }
  return verdict(
    HealthVerdicts.healthy,
    `${tally.judgedSamples} samples judged, worst error rate ${percent(worst ?? 0)}`,
    watch.window.end,
  );
}
