/**
 * The values an APM query template is filled with for one sample of the health watch: the
 * release's repository, environment, version and service, and the sample interval as the APMs
 * write a duration. Shared by the APMs read through templates (Prometheus, Datadog).
 */
import type { ApmQuery } from '../../ports/apm';
import { intervalText, type QueryValues } from '../../domain/apm-query-template';

export function templateValues(query: ApmQuery): QueryValues {
  return {
    repository: query.repository ?? query.service,
    environment: query.env,
    version: query.version ?? '',
    service: query.service,
    interval: intervalText(query.to - query.from),
  };
}
