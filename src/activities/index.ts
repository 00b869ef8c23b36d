/**
 * Every activity the worker registers, built from ports (the samples' dependency-injection
 * pattern). Workflows import only `type Activities`.
 */
import { createReadinessActivities, type ReadinessPorts } from './readiness';

export type Ports = ReadinessPorts;

export function createActivities(ports: Ports) {
  return {
    ...createReadinessActivities(ports),
  };
}

export type Activities = ReturnType<typeof createActivities>;
