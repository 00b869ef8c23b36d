/**
 * Worker Versioning for release-flow itself: each build polls as a deployment version
 * (`<deployment>.<buildId>`), pipelines stay pinned to the version they started on, and an old
 * version's workers may stop once no pipeline runs on it. Read and changed through the
 * WorkflowService's worker deployment calls, which `release-flow upgrade` and the worker use.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { UserError } from '../common/errors';
import type { Logger } from '../common/logging';

/** This build as a Worker Versioning deployment version: `<deploymentName>.<buildId>` on the server. */
export interface WorkerDeployment {
  deploymentName: string;
  buildId: string;
}

/** What a starting worker does with its own version: RELEASE_FLOW_SET_CURRENT. */
export type SetCurrentPolicy = 'if-none' | 'always' | 'never';

export function setCurrentPolicy(env: NodeJS.ProcessEnv = process.env): SetCurrentPolicy {
  const value = env.RELEASE_FLOW_SET_CURRENT?.trim() || 'if-none';
  if (value === 'if-none' || value === 'always' || value === 'never') return value;
  throw new UserError(
    'BAD_SET_CURRENT',
    `RELEASE_FLOW_SET_CURRENT=${value} is not one of if-none, always, never`,
    'unset it (if-none: the first build becomes current, later ones by `release-flow upgrade promote`)',
  );
}

export interface VersionStatus {
  buildId: string;
  current: boolean;
  ramping: boolean;
  /** The server's view: the version's status and drainage (DRAINING, DRAINED, ...). */
  status: string;
  drainage: string;
  /** Releases open on this version now (pipelines pinned here; lock workflows not counted). */
  running: number;
  /** True when its workers may be stopped: not current, not ramping, nothing running here. */
  mayStop: boolean;
  reason: string;
}

export interface UpgradeStatus {
  deployment: string;
  current?: string;
  ramping?: string;
  versions: VersionStatus[];
}

/** Proto enums arrive as numbers or names depending on the path: print the short name. */
function enumName(value: unknown, names: Record<number, string>, prefix: string): string {
  const name = typeof value === 'number' ? (names[value] ?? String(value)) : String(value ?? 'UNSPECIFIED');
  return name.replace(prefix, '');
}

async function describe(client: Client, deploymentName: string) {
  try {
    return await client.workflowService.describeWorkerDeployment({
      namespace: client.options.namespace,
      deploymentName,
    });
  } catch (err) {
    // gRPC NOT_FOUND (5): no worker of this deployment has polled yet.
    if ((err as { code?: number }).code === 5) return undefined;
    throw err;
  }
}

/**
 * The running workflows pinned to one version, counted as the server counts them for drainage
 * (`BuildIds` holds `pinned:<deployment>:<buildId>` while a run is pinned; both delimiters servers
 * used). Lock workflows run with an auto-upgrade override, so they are not pinned and never keep
 * an old version alive.
 */
export async function runningOn(client: Client, deploymentName: string, buildId: string): Promise<number> {
  const { count } = await client.workflow.count(
    `BuildIds IN ('pinned:${deploymentName}:${buildId}', 'pinned:${deploymentName}.${buildId}') AND ExecutionStatus = 'Running'`,
  );
  return count;
}

/**
 * Visibility records a run's version shortly after its workflow task: a version that stopped
 * being current moments ago may still have starts on their way in, so it is not called drained yet.
 */
export const VISIBILITY_GRACE_MS = 10_000;

const enums = temporal.api.enums.v1 as unknown as Record<string, Record<number, string>>;

function millisOf(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): number | undefined {
  if (!ts || ts.seconds === undefined || ts.seconds === null) return undefined;
  return Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

export async function upgradeStatus(client: Client, deploymentName: string): Promise<UpgradeStatus> {
  const described = await describe(client, deploymentName);
  if (!described) return { deployment: deploymentName, versions: [] };
  const info = described.workerDeploymentInfo;
  const routing = info?.routingConfig;
  const current = routing?.currentDeploymentVersion?.buildId ?? undefined;
  const ramping = routing?.rampingDeploymentVersion?.buildId ?? undefined;
  const versions: VersionStatus[] = [];
  for (const summary of info?.versionSummaries ?? []) {
    const buildId =
      summary.deploymentVersion?.buildId ??
      String(summary.version ?? '')
        .split(/[.:]/)
        .pop() ??
      '';
    const running = await runningOn(client, deploymentName, buildId);
    const isCurrent = buildId === current;
    const isRamping = buildId === ramping;
    const leftAt = millisOf(summary.lastDeactivationTime) ?? millisOf(summary.routingUpdateTime);
    const settling = leftAt !== undefined && Date.now() - leftAt < VISIBILITY_GRACE_MS;
    const mayStop = !isCurrent && !isRamping && running === 0 && !settling;
    const reason = isCurrent
      ? 'current: new releases start here'
      : isRamping
        ? 'ramping: some new releases start here'
        : running > 0
          ? `${running} release${running === 1 ? '' : 's'} still running here: keep at least one worker of this build`
          : settling
            ? 'just stopped being current: ask again in a few seconds'
            : 'drained: nothing runs here any more; its workers may be stopped';
    versions.push({
      buildId,
      current: isCurrent,
      ramping: isRamping,
      status: enumName(
        summary.status,
        enums.WorkerDeploymentVersionStatus!,
        'WORKER_DEPLOYMENT_VERSION_STATUS_',
      ),
      drainage: enumName(
        summary.drainageInfo?.status ?? summary.drainageStatus,
        enums.VersionDrainageStatus!,
        'VERSION_DRAINAGE_STATUS_',
      ),
      running,
      mayStop,
      reason,
    });
  }
  return {
    deployment: deploymentName,
    ...(current ? { current } : {}),
    ...(ramping ? { ramping } : {}),
    versions,
  };
}

/** Makes `buildId` the current version: new pipelines start on it; running ones stay where they are. */
export async function setCurrentVersion(
  client: Client,
  deploymentName: string,
  buildId: string,
  identity = 'release-flow upgrade',
): Promise<void> {
  const described = await describe(client, deploymentName);
  const known = described?.workerDeploymentInfo?.versionSummaries?.some(
    (v) => v.deploymentVersion?.buildId === buildId,
  );
  if (!described || !known) {
    throw new UserError(
      'UNKNOWN_BUILD',
      `build ${buildId} of deployment ${deploymentName} has no worker polling yet`,
      'start at least one `release-flow worker` of that build (RELEASE_FLOW_DEPLOYMENT set), then promote it',
    );
  }
  await client.workflowService.setWorkerDeploymentCurrentVersion({
    namespace: client.options.namespace,
    deploymentName,
    buildId,
    conflictToken: described.conflictToken,
    identity,
  });
}

/**
 * A starting worker's own version: with `if-none` it becomes current only when the deployment
 * has none yet (the very first build), with `always` at once (a one-box install), with `never`
 * only by `release-flow upgrade promote`. Waits until the server has seen this version poll.
 */
export async function adoptVersion(
  client: Client,
  deployment: WorkerDeployment,
  policy: SetCurrentPolicy,
  logger: Logger,
  stopped: () => boolean,
): Promise<void> {
  if (policy === 'never') return;
  const deadline = Date.now() + 60_000;
  while (!stopped() && Date.now() < deadline) {
    const described = await describe(client, deployment.deploymentName);
    const info = described?.workerDeploymentInfo;
    const registered = info?.versionSummaries?.some(
      (v) => v.deploymentVersion?.buildId === deployment.buildId,
    );
    if (described && registered) {
      const current = info?.routingConfig?.currentDeploymentVersion?.buildId;
      if (current === deployment.buildId) return;
      if (policy === 'if-none' && current) {
        logger.info(
          { deployment, current },
          'another build is current: this one takes new releases after `release-flow upgrade promote`',
        );
        return;
      }
      try {
        await client.workflowService.setWorkerDeploymentCurrentVersion({
          namespace: client.options.namespace,
          deploymentName: deployment.deploymentName,
          buildId: deployment.buildId,
          conflictToken: described.conflictToken,
          identity: `release-flow worker ${deployment.buildId}`,
        });
        logger.info({ deployment }, 'this build is now the current deployment version');
        return;
      } catch (err) {
        // Another worker changed the deployment in between (conflict token): look again.
        logger.debug({ err }, 'setting the current version raced another change; retrying');
      }
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
