/**
 * The health watch's APM on Prometheus: two instant queries (`/api/v1/query`) at the end of each
 * sample interval, one for errors and one for requests, from PromQL templates (docs/integrations.md
 * "Integrations"). Anything but a finite number is a failed query that names the query and why:
 * an empty result (no series matched), `NaN` (0/0), an error answer, or a timeout. The verdicts
 * then count it as a query error, never as zero errors and never as a breach.
 */
import type { MeasuredSample } from '../../domain/health-verdict';
import type { Apm, ApmQuery } from '../../ports/apm';
import { registerSecret } from '../../common/secrets';
import { authorizationFrom, httpCall, HttpUnreachable } from '../http/http-call';
import { fillPromql } from '../../domain/apm-query-template';
import { templateValues } from '../apm/template-values';

export interface PrometheusApmOptions {
  /** The source's name in config, for messages. */
  name: string;
  url: string;
  errorQuery: string;
  requestQuery: string;
  errorsAs: 'count' | 'ratio';
  timeoutMs: number;
  auth?: { bearerTokenEnv?: string; usernameEnv?: string; passwordEnv?: string };
  env?: NodeJS.ProcessEnv;
}

export class ApmQueryFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApmQueryFailed';
  }
}

interface PrometheusAnswer {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

/** The number a query answered, or why there is none. */
export function numberFromPrometheus(answer: PrometheusAnswer): number | string {
  if (answer.status !== 'success')
    return `${answer.errorType ?? 'error'}: ${answer.error ?? 'no reason given'}`;
  const data = answer.data;
  let values: string[] = [];
  if (data?.resultType === 'scalar' && Array.isArray(data.result)) values = [String(data.result[1])];
  else if (data?.resultType === 'vector' && Array.isArray(data.result)) {
    values = (data.result as { value?: [number, string] }[]).map((r) => String(r.value?.[1]));
  } else
    return `unexpected result type ${JSON.stringify(data?.resultType)} (expected an instant vector or scalar)`;
  if (values.length === 0) return 'empty result: no series matched (no data)';
  let sum = 0;
  for (const text of values) {
    const value = Number(text);
    if (text === 'NaN' || Number.isNaN(value)) return 'the answer is NaN (no traffic to divide by?)';
    if (!Number.isFinite(value)) return `the answer is ${text}`;
    sum += value;
  }
  if (sum < 0) return `the answer is negative (${sum})`;
  return sum;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export class PrometheusApm implements Apm {
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly options: PrometheusApmOptions) {
    this.env = options.env ?? process.env;
  }

  async measure(query: ApmQuery): Promise<MeasuredSample> {
    const values = templateValues(query);
    const [errors, requests] = await Promise.all([
      this.instant('errors', fillPromql(this.options.errorQuery, values), query.to),
      this.instant('requests', fillPromql(this.options.requestQuery, values), query.to),
    ]);
    const errorCount = this.options.errorsAs === 'ratio' ? errors * requests : errors;
    // Counts: rate extrapolation gives fractions, people read whole requests.
    const total = Math.round(requests);
    return { at: query.to, requests: total, errors: Math.min(Math.round(errorCount), total) };
  }

  /** Runs one instant query at `at` (epoch ms); rejects with a message naming the query. */
  async instant(role: string, promql: string, at: number): Promise<number> {
    const fail = (why: string) =>
      new ApmQueryFailed(
        `prometheus ${this.options.name}: ${role} query failed: ${why}; query: ${clip(promql, 160)}`,
      );
    const auth = authorizationFrom(this.options.auth, this.env);
    if (auth.missing.length) throw fail(`${auth.missing.join(' and ')} not set in the worker's environment`);
    if (auth.header) registerSecret(auth.header.replace(/^(Bearer|Basic) /, ''));
    const body = new URLSearchParams({
      query: promql,
      time: (at / 1000).toFixed(3),
      timeout: `${Math.max(1, Math.floor(this.options.timeoutMs / 1000))}s`,
    });
    let answer;
    try {
      answer = await httpCall({
        method: 'POST',
        url: `${this.options.url.replace(/\/+$/, '')}/api/v1/query`,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          ...(auth.header ? { authorization: auth.header } : {}),
        },
        body: body.toString(),
        timeoutMs: this.options.timeoutMs,
      });
    } catch (err) {
      throw fail(err instanceof HttpUnreachable ? err.message : String(err));
    }
    let parsed: PrometheusAnswer;
    try {
      parsed = JSON.parse(answer.text) as PrometheusAnswer;
    } catch {
      throw fail(`HTTP ${answer.status}, not a Prometheus answer: ${clip(answer.text.trim(), 80)}`);
    }
    const result = numberFromPrometheus(parsed);
    if (typeof result === 'string')
      throw fail(answer.status >= 300 ? `HTTP ${answer.status} ${result}` : result);
    return result;
  }

  /** For `doctor`: runs both queries over the last minute and says what came back. */
  async probe(
    sample: { repository: string; service: string; env: string },
    now = Date.now(),
  ): Promise<string> {
    const s = await this.measure({ ...sample, from: now - 60_000, to: now });
    return `${s.requests} requests, ${s.errors} errors in the last minute`;
  }
}
