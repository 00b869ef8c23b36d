/**
 * Every activity the worker registers, built from ports (the samples' dependency-injection
 * pattern). Workflows import only `type Activities`.
 */
import { createLockActivities, type LockPorts } from './lock';
import { createPipelineActivities, type PipelinePorts } from './pipeline';
import { createReadinessActivities, type ReadinessPorts } from './readiness';

export type Ports = ReadinessPorts & LockPorts & PipelinePorts;

export function createActivities(ports: Ports) {
  return {
    ...createReadinessActivities(ports),
    ...createLockActivities(ports),
    ...createPipelineActivities(ports),
  };
}

export type Activities = ReturnType<typeof createActivities>;
