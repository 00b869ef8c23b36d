/**
 * The health watch's APM on Datadog: the metrics query API (`GET /api/v1/query`) over each
 * sample interval, keys in `DD-API-KEY` / `DD-APPLICATION-KEY` from the worker's environment.
 * Same rule as Prometheus: no series, only null points, an error answer, a rate limit or a
 * timeout is a failed query naming the query and why. One exception, because Datadog's query
 * language has no `or` to say it in the query: with `noErrorSeries: zero` an error query that
 * matches no series reads as zero errors when the request query of the same sample answered and
 * every metric the error query names exists (`GET /api/v1/metrics/<name>`); a misspelt metric
 * (404) stays a failed query.
 */
import type { MeasuredSample } from '../../domain/health-verdict';
import type { Apm, ApmQuery } from '../../ports/apm';
import { registerSecret } from '../../common/secrets';
import { httpCall, HttpUnreachable } from '../http/http-call';
import { ApmQueryFailed } from '../prometheus/prometheus-apm';
import { fillDatadog } from '../../domain/apm-query-template';
import { templateValues } from '../apm/template-values';

export interface DatadogApmOptions {
  name: string;
  /** `https://api.<site>` or the configured apiUrl. */
  apiUrl: string;
  errorQuery: string;
  requestQuery: string;
  errorsAs: 'count' | 'ratio';
  /** What an error query matching no series means: zero errors (checked as above), or a failed query. */
  noErrorSeries?: 'zero' | 'failed';
  timeoutMs: number;
  apiKeyEnv: string;
  appKeyEnv: string;
  env?: NodeJS.ProcessEnv;
}

interface DatadogAnswer {
  status?: string;
  error?: string;
  errors?: string[];
  series?: { pointlist?: [number, number | null][] }[];
}

const NO_SERIES = 'empty result: no series matched (no data)';

/** The points of a query's answer (timestamp ms -> value, summed over series), or why there are none. */
export function pointsFromDatadog(answer: DatadogAnswer): Map<number, number> | string {
  if (answer.status !== 'ok')
    return `error: ${answer.error ?? answer.errors?.join('; ') ?? 'no reason given'}`;
  const series = answer.series ?? [];
  if (series.length === 0) return NO_SERIES;
  const points = new Map<number, number>();
  for (const s of series) {
    for (const [at, value] of s.pointlist ?? []) {
      if (value === null || value === undefined) continue;
      if (!Number.isFinite(value)) return `a point is ${String(value)}`;
      if (value < 0) return `a point is negative (${value})`;
      points.set(at, (points.get(at) ?? 0) + value);
    }
  }
  if (points.size === 0) return 'no points in the interval (only nulls)';
  return points;
}

/** The sum of a query's points, or why there is none. */
export function numberFromDatadog(answer: DatadogAnswer): number | string {
  const points = pointsFromDatadog(answer);
  if (typeof points === 'string') return points;
  let sum = 0;
  for (const value of points.values()) sum += value;
  return sum;
}

function sum(points: Map<number, number>): number {
  let total = 0;
  for (const value of points.values()) total += value;
  return total;
}

/**
 * Errors in the interval from per-rollup error ratios: each ratio weighted by the requests of its
 * rollup, since summing ratios over an interval inflates the rate (ten rollups at 1% are not
 * 10%). Ratios whose timestamps match no request point fall back to their mean.
 */
export function errorsFromRatios(ratios: Map<number, number>, requests: Map<number, number>): number {
  let weighted = 0;
  let matched = 0;
  for (const [at, ratio] of ratios) {
    const count = requests.get(at);
    if (count === undefined) continue;
    weighted += ratio * count;
    matched += 1;
  }
  if (matched > 0) return weighted;
  return (sum(ratios) / ratios.size) * sum(requests);
}

/** Metric names a Datadog query reads (`sum:trace.http.request.errors{...}` -> `trace.http.request.errors`). */
export function metricsOfQuery(query: string): string[] {
  const names = [...query.matchAll(/([A-Za-z][A-Za-z0-9_.]*)\s*\{/g)].map((m) => m[1] ?? '');
  return [...new Set(names.filter((n) => n && n !== 'by'))];
}

export function datadogApiUrl(site: string, apiUrl?: string): string {
  return (apiUrl ?? `https://api.${site}`).replace(/\/+$/, '');
}

export class DatadogApm implements Apm {
  private readonly env: NodeJS.ProcessEnv;
  /** Metrics Datadog said exist: a metric does not stop existing, so each is looked up once. */
  private readonly knownMetrics = new Set<string>();

  constructor(private readonly options: DatadogApmOptions) {
    this.env = options.env ?? process.env;
  }

  async measure(query: ApmQuery): Promise<MeasuredSample> {
    const values = templateValues(query);
    const errorText = fillDatadog(this.options.errorQuery, values);
    const [errorAnswer, requests] = await Promise.all([
      this.points('errors', errorText, query.from, query.to, true),
      this.points('requests', fillDatadog(this.options.requestQuery, values), query.from, query.to),
    ]);
    let errorCount: number;
    if (errorAnswer === undefined) {
      // No series at all: zero errors only once the metrics it names are known to exist.
      await this.requireMetrics(errorText);
      errorCount = 0;
    } else if (this.options.errorsAs === 'ratio') errorCount = errorsFromRatios(errorAnswer, requests);
    else errorCount = sum(errorAnswer);
    // Counts: rate extrapolation gives fractions, people read whole requests.
    const total = Math.round(sum(requests));
    return { at: query.to, requests: total, errors: Math.min(Math.round(errorCount), total) };
  }

  private fail(role: string, text: string, why: string): ApmQueryFailed {
    return new ApmQueryFailed(
      `datadog ${this.options.name}: ${role} query failed: ${why}; query: ${text.slice(0, 160)}`,
    );
  }

  private keys(role: string, text: string): { apiKey: string; appKey: string } {
    const apiKey = this.env[this.options.apiKeyEnv];
    const appKey = this.env[this.options.appKeyEnv];
    const missing = [
      ...(apiKey ? [] : [this.options.apiKeyEnv]),
      ...(appKey ? [] : [this.options.appKeyEnv]),
    ];
    if (missing.length)
      throw this.fail(role, text, `${missing.join(' and ')} not set in the worker's environment`);
    registerSecret(apiKey!);
    registerSecret(appKey!);
    return { apiKey: apiKey!, appKey: appKey! };
  }

  /** Each metric `text` names must exist; a 404 (a typo) or an unanswered lookup fails the errors query. */
  private async requireMetrics(text: string): Promise<void> {
    const role = 'errors';
    const names = metricsOfQuery(text).filter((n) => !this.knownMetrics.has(n));
    for (const name of names) {
      const { apiKey, appKey } = this.keys(role, text);
      let answer;
      try {
        answer = await httpCall({
          method: 'GET',
          url: `${this.options.apiUrl}/api/v1/metrics/${encodeURIComponent(name)}`,
          headers: { 'DD-API-KEY': apiKey, 'DD-APPLICATION-KEY': appKey, accept: 'application/json' },
          timeoutMs: this.options.timeoutMs,
        });
      } catch (err) {
        throw this.fail(role, text, `no series, and metric ${name} could not be looked up: ${String(err)}`);
      }
      if (answer.status === 404)
        throw this.fail(role, text, `${NO_SERIES}, and metric ${name} does not exist (a typo?)`);
      if (answer.status !== 200)
        throw this.fail(
          role,
          text,
          `${NO_SERIES}, and looking up metric ${name} answered HTTP ${answer.status}` +
            (answer.status === 403 ? ' (the application key needs metrics_read)' : ''),
        );
      this.knownMetrics.add(name);
    }
  }

  /**
   * The points of one query over the interval. With `allowNoSeries` (the errors query under
   * `noErrorSeries: zero`), an answer with no series resolves undefined instead of failing.
   */
  private async points(role: string, text: string, from: number, to: number): Promise<Map<number, number>>;
  private async points(
    role: string,
    text: string,
    from: number,
    to: number,
    allowNoSeries: true,
  ): Promise<Map<number, number> | undefined>;
  private async points(
    role: string,
    text: string,
    from: number,
    to: number,
    allowNoSeries = false,
  ): Promise<Map<number, number> | undefined> {
    const fail = (why: string) => this.fail(role, text, why);
    const { apiKey, appKey } = this.keys(role, text);
    const params = new URLSearchParams({
      from: String(Math.floor(from / 1000)),
      to: String(Math.floor(to / 1000)),
      query: text,
    });
    let answer;
    try {
      answer = await httpCall({
        method: 'GET',
        url: `${this.options.apiUrl}/api/v1/query?${params.toString()}`,
        headers: { 'DD-API-KEY': apiKey, 'DD-APPLICATION-KEY': appKey, accept: 'application/json' },
        timeoutMs: this.options.timeoutMs,
      });
    } catch (err) {
      throw fail(err instanceof HttpUnreachable ? err.message : String(err));
    }
    if (answer.status === 403) throw fail('HTTP 403: the API or application key was refused');
    if (answer.status === 429) {
      const reset = answer.headers.get('x-ratelimit-reset');
      throw fail(`HTTP 429: rate limited${reset ? ` for ${reset} s` : ''}`);
    }
    let parsed: DatadogAnswer;
    try {
      parsed = JSON.parse(answer.text) as DatadogAnswer;
    } catch {
      throw fail(`HTTP ${answer.status}, not a Datadog answer: ${answer.text.trim().slice(0, 80)}`);
    }
    if (answer.status >= 300 && parsed.status !== 'error')
      throw fail(`HTTP ${answer.status}: ${parsed.errors?.join('; ') ?? parsed.error ?? 'no reason given'}`);
    const result = pointsFromDatadog(parsed);
    if (result === NO_SERIES && allowNoSeries && (this.options.noErrorSeries ?? 'zero') === 'zero')
      return undefined;
    if (typeof result === 'string')
      throw fail(answer.status >= 300 ? `HTTP ${answer.status} ${result}` : result);
    return result;
  }
}
