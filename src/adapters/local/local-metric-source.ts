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
 * A sample integrates the traffic lines over its interval, so
 * `setErrorRate({ service: 'acme/shop', env: 'production' }, 0.3)` turns that service's following
 * samples bad, exactly like a release that starts failing. Traffic is keyed by service (the
 * repository) and environment, so two repositories on one machine never share it; a target
 * given as an environment alone (`setErrorRate('production', 0.3)`) is the traffic of every
 * service there that has none of its own.
 */
import { createHash } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { readJsonLines } from './durable-files';
import type { MeasuredSample } from '../../domain/health-verdict';
import type { Apm, ApmQuery } from '../../ports/apm';
import { DefinitiveFailure, FailureTypes } from '../../domain/failures';

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

/** An environment (every service without traffic of its own), or one service in an environment. */
export type TrafficTarget = string | { service: string; env: string };

/** A service's folder name: readable, file-name safe, distinct for names differing in punctuation. */
function serviceFolder(service: string): string {
  const slug = service
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return `${slug || 'service'}-${createHash('sha256').update(service).digest('hex').slice(0, 8)}`;
}

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
  async setTraffic(target: TrafficTarget, traffic: Partial<Traffic>, at = this.now()): Promise<void> {
    const lines = await this.lines(target);
    const before = this.trafficAt(lines, at);
    const next: Traffic = { ...before, ...traffic };
    if (!(next.errorRate >= 0 && next.errorRate <= 1))
      throw new RangeError('errorRate must be between 0 and 1');
    if (!(next.requestsPerMinute >= 0)) throw new RangeError('requestsPerMinute must be >= 0');
    await this.append(target, { kind: 'traffic', at, ...next });
  }

  /** Makes the target unhealthy (or healthy again) from `at` on. */
  setErrorRate(target: TrafficTarget, errorRate: number, at = this.now()): Promise<void> {
    return this.setTraffic(target, { errorRate }, at);
  }

  /** Adds exact counts at one instant. */
  async record(
    target: TrafficTarget,
    sample: { at?: number; requests: number; errors: number },
  ): Promise<void> {
    await this.append(target, {
      kind: 'count',
      at: sample.at ?? this.now(),
      requests: sample.requests,
      errors: sample.errors,
    });
  }

  async measure(query: ApmQuery): Promise<MeasuredSample> {
    const own = await this.lines({ service: query.service, env: query.env });
    const lines = own.length ? own : await this.lines(query.env);
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

  private file(target: TrafficTarget): string {
    const env = typeof target === 'string' ? target : target.env;
    if (!ENV_NAME.test(env)) {
      throw new DefinitiveFailure(
        FailureTypes.invalidReference,
        `invalid environment name ${JSON.stringify(env)}`,
      );
    }
    if (typeof target === 'string') return path.join(this.dir, `${env}.jsonl`);
    return path.join(this.dir, serviceFolder(target.service), `${env}.jsonl`);
  }

  private async append(target: TrafficTarget, line: Line): Promise<void> {
    const file = this.file(target);
    await mkdir(path.dirname(file), { recursive: true });
    // One appendFile call per line: O_APPEND keeps concurrent writers' lines whole.
    await appendFile(file, `${JSON.stringify(line)}\n`);
  }

  private async lines(target: TrafficTarget): Promise<Line[]> {
    return await readJsonLines<Line>(this.file(target));
  }
}
