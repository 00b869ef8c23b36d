/**
 * Application performance monitoring: request and error counts of a service in an environment
 * over an interval, in the shape the health verdicts judge (src/domain/health-verdict.ts).
 * A query the APM cannot answer rejects; the caller records it as a `FailedSample`, so an
 * outage is never read as zero errors.
 */
import type { MeasuredSample } from '../domain/health-verdict';

export interface ApmQuery {
  env: string;
  /** The service as the APM knows it, usually the repository's name. */
  service: string;
  /** The interval, epoch milliseconds: `from` exclusive, `to` inclusive. */
  from: number;
  to: number;
  /** The repository the release belongs to (the service's default name). */
  repository?: string;
  /** The version running in `env`, when known (for queries that filter by it). */
  version?: string;
}

export interface Apm {
  /** Counts for the interval, stamped `at: to`. Rejects when the APM cannot be read. */
  measure(query: ApmQuery): Promise<MeasuredSample>;
}
