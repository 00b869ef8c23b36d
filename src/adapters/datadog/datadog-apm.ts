/**
 * The health watch's APM on Datadog: the metrics query API (`GET /api/v1/query`) over each
 * sample interval, keys in `DD-API-KEY` / `DD-APPLICATION-KEY` from the worker's environment.
 * Same rule as Prometheus: no series, only null points, an error answer, a rate limit or a
 * timeout is a failed query naming the query and why.
 */
import type { MeasuredSample } from '../../domain/health-verdict';
import type { Apm, ApmQuery } from '../../ports/apm';
import { registerSecret } from '../../common/secrets';
import { httpCall, HttpUnreachable } from '../http/http-call';
import { ApmQueryFailed } from '../prometheus/prometheus-apm';
import { fillDatadog } from '../../domain/apm-query-template';
import { twoQuerySample } from '../apm/two-query-sample';

export interface DatadogApmOptions {
  name: string;
  /** `https://api.<site>` or the configured apiUrl. */
  apiUrl: string;
  errorQuery: string;
  requestQuery: string;
  errorsAs: 'count' | 'ratio';
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

/** The sum of a query's points, or why there is none. */
export function numberFromDatadog(answer: DatadogAnswer): number | string {
  if (answer.status !== 'ok')
    return `error: ${answer.error ?? answer.errors?.join('; ') ?? 'no reason given'}`;
  const series = answer.series ?? [];
  if (series.length === 0) return 'empty result: no series matched (no data)';
  let sum = 0;
  let points = 0;
  for (const s of series) {
    for (const [, value] of s.pointlist ?? []) {
      if (value === null || value === undefined) continue;
      if (!Number.isFinite(value)) return `a point is ${String(value)}`;
      sum += value;
      points += 1;
    }
  }
  if (points === 0) return 'no points in the interval (only nulls)';
  if (sum < 0) return `the answer is negative (${sum})`;
  return sum;
}

export function datadogApiUrl(site: string, apiUrl?: string): string {
  return (apiUrl ?? `https://api.${site}`).replace(/\/+$/, '');
}

export class DatadogApm implements Apm {
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly options: DatadogApmOptions) {
    this.env = options.env ?? process.env;
  }

  measure(query: ApmQuery): Promise<MeasuredSample> {
    const templates = { errors: this.options.errorQuery, requests: this.options.requestQuery };
    return twoQuerySample(query, this.options.errorsAs, (role, values) =>
      this.query(role, fillDatadog(templates[role], values), query.from, query.to),
    );
  }

  async query(role: string, text: string, from: number, to: number): Promise<number> {
    const fail = (why: string) =>
      new ApmQueryFailed(
        `datadog ${this.options.name}: ${role} query failed: ${why}; query: ${text.slice(0, 160)}`,
      );
    const apiKey = this.env[this.options.apiKeyEnv];
    const appKey = this.env[this.options.appKeyEnv];
    const missing = [
      ...(apiKey ? [] : [this.options.apiKeyEnv]),
      ...(appKey ? [] : [this.options.appKeyEnv]),
    ];
    if (missing.length) throw fail(`${missing.join(' and ')} not set in the worker's environment`);
    registerSecret(apiKey!);
    registerSecret(appKey!);
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
        headers: { 'DD-API-KEY': apiKey!, 'DD-APPLICATION-KEY': appKey!, accept: 'application/json' },
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
    const result = numberFromDatadog(parsed);
    if (typeof result === 'string')
      throw fail(answer.status >= 300 ? `HTTP ${answer.status} ${result}` : result);
    return result;
  }
}
