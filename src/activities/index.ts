/**
 * Every activity the worker registers, built from ports (the samples' dependency-injection
 * pattern). Workflows import only `type Activities`.
 */
import { createLockActivities, type LockPorts } from './lock';
import { createReadinessActivities, type ReadinessPorts } from './readiness';

export type Ports = ReadinessPorts & LockPorts;

export function createActivities(ports: Ports) {
  return {
    ...createReadinessActivities(ports),
    ...createLockActivities(ports),
  };
}

export type Activities = ReturnType<typeof createActivities>;
