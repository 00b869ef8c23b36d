/**
 * The production health watch's one activity: a sample of the error rate. An APM that cannot be
 * answered is reported as a failed sample (never as zero errors, never as a breach); the health
 * verdict counts failed samples on its own (src/domain/health-verdict.ts).
 */
import type { HealthSample } from '../domain/health-verdict';
import type { Apm } from '../ports/apm';
import type { Environments } from '../ports/environments';
import { environmentKey } from './deploy';

export interface HealthPorts {
  apm: Apm;
  /** Tells which version runs, for APM queries that filter by `{version}`. */
  environments?: Environments;
}

export interface MeasureHealthInput {
  repository: string;
  /** `production`: the APM's environment name. */
  env: string;
  /** The interval, epoch milliseconds (workflow clock): `from` exclusive, `to` inclusive. */
  from: number;
  to: number;
}

const MAX_ERROR_TEXT = 300;

export function createHealthActivities(ports: HealthPorts) {
  return {
    /** Requests and errors of `repository` in `env` over the interval, stamped `at: to`; a failed sample when the APM cannot say. */
    async measureHealth(input: MeasureHealthInput): Promise<HealthSample> {
      try {
        const version = await ports.environments
          ?.state(environmentKey(input.repository, input.env))
          .then((state) => state.current?.version)
          .catch(() => undefined);
        const sample = await ports.apm.measure({
          env: input.env,
          service: input.repository,
          repository: input.repository,
          ...(version ? { version } : {}),
          from: input.from,
          to: input.to,
        });
        return { at: input.to, requests: sample.requests, errors: sample.errors };
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        return { at: input.to, queryError: message.slice(0, MAX_ERROR_TEXT) || 'APM query failed' };
      }
    },
  };
}
