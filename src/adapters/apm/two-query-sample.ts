/**
 * A health sample from two APM queries over the watched interval, one for errors and one for
 * requests, each filled from its template with the release's values. Shared by the APMs that
 * are read this way (Prometheus, Datadog); each says how one query runs.
 */
import type { MeasuredSample } from '../../domain/health-verdict';
import type { ApmQuery } from '../../ports/apm';
import { intervalText, type QueryValues } from '../../domain/apm-query-template';

export type QueryRole = 'errors' | 'requests';

/**
 * Runs both queries side by side. `errorsAs: 'ratio'` reads the error query as a share of the
 * requests. A query that fails rejects the sample (the watch records a failed sample).
 */
export async function twoQuerySample(
  query: ApmQuery,
  errorsAs: 'count' | 'ratio',
  run: (role: QueryRole, values: QueryValues) => Promise<number>,
): Promise<MeasuredSample> {
  const values: QueryValues = {
    repository: query.repository ?? query.service,
    environment: query.env,
    version: query.version ?? '',
    service: query.service,
    interval: intervalText(query.to - query.from),
  };
  const [errors, requests] = await Promise.all([run('errors', values), run('requests', values)]);
  const errorCount = errorsAs === 'ratio' ? errors * requests : errors;
  // Counts: rate extrapolation gives fractions, people read whole requests.
  const total = Math.round(requests);
  return { at: query.to, requests: total, errors: Math.min(Math.round(errorCount), total) };
}
