/**
 * The pipelines' activities, composed from their per-concern factories. Workflows import
 * `type PipelineActivities` only.
 */
import { createAlertActivities, type AlertPorts } from './alerts';
import { createArtifactActivities, type ArtifactPorts } from './artifacts';
import { createBuildActivities, type BuildPorts } from './build';
import { createDeployActivities, type DeployPorts } from './deploy';
import { createHealthActivities, type HealthPorts } from './health';
import { createHotfixActivities, type HotfixPorts } from './hotfix';
import { createIncidentActivities, type IncidentPorts } from './incidents';
import { createPrBuildActivities, type PrBuildPorts } from './pr-build';
import { createPrGateActivities, type PrGatePorts } from './pr-gate';
import { createProductionAlertActivities, type ProductionAlertPorts } from './production-alerts';
import { createReleaseActivities, type ReleasePorts } from './release';
import { createSettingsActivities, type SettingsPorts } from './settings';
import { createStatusActivities, type StatusPorts } from './statuses';

export type PipelinePorts = BuildPorts &
  ArtifactPorts &
  DeployPorts &
  ReleasePorts &
  AlertPorts &
  SettingsPorts &
  HealthPorts &
  IncidentPorts &
  ProductionAlertPorts &
  PrGatePorts &
  PrBuildPorts &
  StatusPorts &
  HotfixPorts;

export function createPipelineActivities(ports: PipelinePorts) {
  return {
    ...createBuildActivities(ports),
    ...createArtifactActivities(ports),
    ...createDeployActivities(ports),
    ...createReleaseActivities(ports),
    ...createAlertActivities(ports),
    ...createSettingsActivities(ports),
    ...createHealthActivities(ports),
    ...createIncidentActivities(ports),
    ...createProductionAlertActivities(ports),
    ...createPrGateActivities(ports),
    ...createPrBuildActivities(ports),
    ...createStatusActivities(ports),
    ...createHotfixActivities(ports),
  };
}

export type PipelineActivities = ReturnType<typeof createPipelineActivities>;
