/**
 * The APM on this machine: per environment, a JSON-lines file of traffic that a test or the
 * demo writes. Two kinds of line:
 *
 *   {"at":..., "kind":"traffic", "requestsPerMinute":600, "errorRate":0.2, "available":true}
 *       from `at` on, requests arrive at that rate with that share of errors (until the next
 *       traffic line); `available: false` makes queries over that time fail like an APM outage
 *   {"at":..., "kind":"count", "requests":120, "errors":3}
 *       exact counts at one instant, added on top
 *
 * A sample integrates the traffic lines over its interval, so `setErrorRate('production', 0.3)`
 * turns the following samples bad, exactly like a release that starts failing. The service
 * name is ignored: one service per environment.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { readJsonLines } from './durable-files';
import type { MeasuredSample } from '../../domain/health-verdict';
import type { Apm, ApmQuery } from '../../ports/apm';
import { DefinitiveFailure, FailureTypes } from '../../ports/failures';

export interface Traffic {
  requestsPerMinute: number;
  errorRate: number;
  available: boolean;
}

type Line =
  | ({ kind: 'traffic' } & Traffic & { at: number })
  | { kind: 'count'; at: number; requests: number; errors: number };

export interface LocalMetricSourceOptions {
  dir: string;
  /** Traffic before any line is written: healthy by default, so an untouched demo passes its watch. */
  baseline?: Traffic;
  now?: () => number;
}

const ENV_NAME = /^[a-z][a-z0-9-]{0,31}$/;
const MINUTE = 60_000;

export class LocalMetricSource implements Apm {
  private readonly dir: string;
  private readonly baseline: Traffic;
  private readonly now: () => number;

  constructor(options: LocalMetricSourceOptions) {
    this.dir = path.resolve(options.dir);
    this.baseline = options.baseline ?? { requestsPerMinute: 600, errorRate: 0, available: true };
    this.now = options.now ?? Date.now;
  }

  /** From `at` (default now) on, traffic changes to what is given; unnamed fields keep their value. */
  async setTraffic(env: string, traffic: Partial<Traffic>, at = this.now()): Promise<void> {
    const lines = await this.lines(env);
    const before = this.trafficAt(lines, at);
    const next: Traffic = { ...before, ...traffic };
    if (!(next.errorRate >= 0 && next.errorRate <= 1))
      throw new RangeError('errorRate must be between 0 and 1');
    if (!(next.requestsPerMinute >= 0)) throw new RangeError('requestsPerMinute must be >= 0');
    await this.append(env, { kind: 'traffic', at, ...next });
  }

  /** Makes the environment unhealthy (or healthy again) from `at` on. */
  setErrorRate(env: string, errorRate: number, at = this.now()): Promise<void> {
    return this.setTraffic(env, { errorRate }, at);
  }

  /** Adds exact counts at one instant. */
  async record(env: string, sample: { at?: number; requests: number; errors: number }): Promise<void> {
    await this.append(env, {
      kind: 'count',
      at: sample.at ?? this.now(),
      requests: sample.requests,
      errors: sample.errors,
    });
  }

  async measure(query: ApmQuery): Promise<MeasuredSample> {
    const lines = await this.lines(query.env);
    const changes = lines
      .filter((l): l is Extract<Line, { kind: 'traffic' }> => l.kind === 'traffic')
      .sort((a, b) => a.at - b.at);
    let requests = 0;
    let errors = 0;
    // Walk the traffic segments that overlap (from, to].
    let start = query.from;
    let traffic = this.trafficAt(changes, start);
    for (const change of changes) {
      if (change.at <= start) continue;
      if (change.at >= query.to) break;
      ({ requests, errors } = this.add(traffic, change.at - start, requests, errors, query));
      start = change.at;
      traffic = change;
    }
    ({ requests, errors } = this.add(traffic, query.to - start, requests, errors, query));
    for (const line of lines) {
      if (line.kind === 'count' && line.at > query.from && line.at <= query.to) {
        requests += line.requests;
        errors += line.errors;
      }
    }
    return { at: query.to, requests: Math.round(requests), errors: Math.round(errors) };
  }

  private add(traffic: Traffic, ms: number, requests: number, errors: number, query: ApmQuery) {
    if (ms <= 0) return { requests, errors };
    if (!traffic.available) {
      throw new Error(`local APM for ${query.env} is unavailable between ${query.from} and ${query.to}`);
    }
    const count = (traffic.requestsPerMinute * ms) / MINUTE;
    return { requests: requests + count, errors: errors + count * traffic.errorRate };
  }

  private trafficAt(lines: readonly Line[], at: number): Traffic {
    let traffic = this.baseline;
    for (const line of [...lines].sort((a, b) => a.at - b.at)) {
      if (line.kind === 'traffic' && line.at <= at) traffic = line;
    }
    return {
      requestsPerMinute: traffic.requestsPerMinute,
      errorRate: traffic.errorRate,
      available: traffic.available,
    };
  }

  private file(env: string): string {
    if (!ENV_NAME.test(env)) {
      throw new DefinitiveFailure(
        FailureTypes.invalidReference,
        `invalid environment name ${JSON.stringify(env)}`,
      );
    }
    return path.join(this.dir, `${env}.jsonl`);
  }

  private async append(env: string, line: Line): Promise<void> {
    const file = this.file(env);
    await mkdir(this.dir, { recursive: true });
    // One appendFile call per line: O_APPEND keeps concurrent writers' lines whole.
    await appendFile(file, `${JSON.stringify(line)}\n`);
  }

  private async lines(env: string): Promise<Line[]> {
    return await readJsonLines<Line>(this.file(env));
  }
}
