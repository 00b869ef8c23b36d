/**
 * The pipelines' activities, composed from their per-concern factories. Workflows import
 * `type PipelineActivities` only.
 */
import { createAlertActivities, type AlertPorts } from './alerts';
import { createArtifactActivities, type ArtifactPorts } from './artifacts';
import { createBuildActivities, type BuildPorts } from './build';
import { createDeployActivities, type DeployPorts } from './deploy';
import { createReleaseActivities, type ReleasePorts } from './release';

export type PipelinePorts = BuildPorts & ArtifactPorts & DeployPorts & ReleasePorts & AlertPorts;

export function createPipelineActivities(ports: PipelinePorts) {
  return {
    ...createBuildActivities(ports),
    ...createArtifactActivities(ports),
    ...createDeployActivities(ports),
    ...createReleaseActivities(ports),
    ...createAlertActivities(ports),
  };
}

export type PipelineActivities = ReturnType<typeof createPipelineActivities>;
