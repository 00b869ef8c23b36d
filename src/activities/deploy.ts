/**
 * Environment activities: deploy, roll back, mark good, read state. Each environment of a
 * repository has its own name in the Environments port (environmentKey), so repositories sharing
 * this worker never see each other's versions. Staging writes carry the lock's fencing token.
 */
import { createHash } from 'node:crypto';
import type { AlertDelivery, Alerts, ChangeNotice } from '../ports/alerts';
import { Context } from '@temporalio/activity';
import type { ArtifactRepository, Registry } from '../ports/registry';
import type {
  DeployedVersion,
  EnvironmentChangeResult,
  EnvironmentState,
  Environments,
  RollbackTarget,
} from '../ports/environments';
import type { ReleaseRecord } from '../ports/release-record';
import { DefinitiveFailure, FailureTypes } from '../domain/failures';
import { definitive } from './definitive';

export interface DeployPorts {
  environments: Environments;
  registry: Registry;
  /** Told when a version is recorded good in an environment (links the release on its Jira tickets); never throws. */
  announceRelease?: (release: {
    repository: string;
    env: string;
    version: string;
    by: string;
  }) => Promise<unknown>;
  /** Where versions that reached production are kept beyond Temporal's retention. */
  releases?: ReleaseRecord;
  /** Told of production deploys and rollbacks (PagerDuty change events), and closes a rolled-back release's incident. */
  alerts?: Alerts;
}

/** Production changes reach the alert channels that track them; a channel that is down is journaled, never thrown. */
async function noticeProductionChange(
  ports: DeployPorts,
  input: { repository: string; env: string; by: string },
  result: EnvironmentChangeResult,
  notice: Omit<ChangeNotice, 'key' | 'repository' | 'env' | 'by' | 'links'>,
): Promise<AlertDelivery[]> {
  if (input.env !== 'production' || !ports.alerts?.notifyChange) return [];
  // A retry after the change was made finds it already made, by the same caller: notify anyway (keyed, so once).
  const last = result.state.history.at(-1);
  const ours =
    result.changed ||
    (last?.action === notice.action && last.by === input.by && last.version === notice.version);
  if (!ours) return [];
  try {
    return await ports.alerts.notifyChange({
      key: `${input.by}/${notice.action}/${notice.version}`,
      repository: input.repository,
      env: input.env,
      by: input.by,
      links: [],
      ...notice,
    });
  } catch {
    return [];
  }
}

/**
 * The port's name for one repository's environment: readable, file-name safe, and distinct for
 * repositories whose names differ only in punctuation (`acme/shop` and `acme-shop`).
 */
export function environmentKey(repository: string, env: string): string {
  const slug = repository
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  const digest = createHash('sha256').update(repository).digest('hex').slice(0, 8);
  return `${env}-${slug || 'repo'}-${digest}`;
}

export interface DeployVersionInput {
  repository: string;
  env: string;
  /** What runs there afterwards: a commit hash in dev, a release version after that. */
  version: string;
  /** Registry repository and tag of the artifact to deploy. */
  artifact: { repository: ArtifactRepository; tag: string };
  /**
   * The digest the pipeline uploaded, tagged or copied under that tag: a tag that names another
   * one now is refused (ArtifactChanged), whichever registry holds it.
   */
  digest?: string;
  /** The workflow or person asking. */
  by: string;
  fencingToken?: number;
}

const HEARTBEAT_EVERY_MS = 2_000;

/** Where an environment's versions come from: production's from the production repository, the others' from dev. */
function artifactRepositoryOf(env: string): ArtifactRepository {
  return env === 'production' ? 'prod' : 'dev';
}

function artifactChanged(
  where: string,
  found: string | null,
  expected: string,
  what: string,
): DefinitiveFailure {
  return new DefinitiveFailure(
    FailureTypes.artifactChanged,
    `${where} names ${found ?? 'nothing'} now, not ${expected} as ${what}: refusing to deploy a changed artifact (fix: find out who replaced the tag; release a new version)`,
    { where, expected, found },
  );
}

/**
 * A rollback returns to what ran before, so the artifact must still be what ran: the version's
 * tag is resolved again (the OCI registry also checks its own pins) and must name the digest the
 * environment recorded when it was deployed. A version recorded without a digest has nothing to
 * be held to.
 */
async function checkRollbackTarget(
  ports: DeployPorts,
  input: { repository: string; env: string },
  target: DeployedVersion,
): Promise<void> {
  if (!target.digest) return;
  const repository = artifactRepositoryOf(input.env);
  const location = await ports.registry.resolve({
    repository,
    artifact: input.repository,
    tag: target.version,
  });
  if (location?.digest !== target.digest) {
    throw artifactChanged(
      `${repository} ${input.repository}:${target.version}`,
      location?.digest ?? null,
      target.digest,
      `it was deployed to ${input.env}`,
    );
  }
}

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/**
 * Runs a deploy or rollback heartbeating, so a cancellation (the lock was taken away) reaches it
 * within seconds and aborts its command's process group; the cancellation is what it then throws.
 */
async function cancellable<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = activityContext();
  // Called outside a worker (a script or a test driving the activity directly): nothing to beat to.
  if (!ctx) return await work(new AbortController().signal);
  const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    ctx.heartbeat();
    return await work(ctx.cancellationSignal);
  } catch (err) {
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? err;
    throw err;
  } finally {
    clearInterval(beat);
  }
}

export function createDeployActivities(ports: DeployPorts) {
  return {
    /** Deploys an artifact; deploying what already runs changes nothing and says so. */
    async deployVersion(input: DeployVersionInput): Promise<EnvironmentChangeResult> {
      return await cancellable((signal) =>
        definitive(async () => {
          const location = await ports.registry.resolve({
            repository: input.artifact.repository,
            artifact: input.repository,
            tag: input.artifact.tag,
          });
          if (input.digest && location?.digest !== input.digest) {
            throw artifactChanged(
              `${input.artifact.repository} ${input.repository}:${input.artifact.tag}`,
              location?.digest ?? null,
              input.digest,
              'the pipeline stored it',
            );
          }
          const result = await ports.environments.deploy({
            env: environmentKey(input.repository, input.env),
            version: input.version,
            ...(location ? { artifact: { digest: location.digest, uri: location.uri } } : {}),
            by: input.by,
            ...(input.fencingToken !== undefined ? { fencingToken: input.fencingToken } : {}),
            signal,
          });
          // Recorded here, not in the workflow: the doors refuse this version's tag from now on,
          // even after its runs have left Temporal (docs/pipelines-and-decisions.md "Released means released").
          if (input.env === 'production') {
            ports.releases?.recordProduction({
              repository: input.repository,
              version: input.version,
              by: input.by,
            });
          }
          await noticeProductionChange(ports, input, result, {
            action: 'deploy',
            version: input.version,
            ...(location ? { digest: location.digest } : {}),
            ...(result.state.previous ? { fromVersion: result.state.previous.version } : {}),
          });
          return result;
        }),
      );
    },

    /** Rolls an environment back; a version that no longer runs is not rolled back twice. */
    async rollbackEnvironment(input: {
      repository: string;
      env: string;
      to: RollbackTarget;
      fromVersion?: string;
      by: string;
      fencingToken?: number;
    }): Promise<EnvironmentChangeResult> {
      return await cancellable((signal) =>
        definitive(async () => {
          const result = await ports.environments.rollback({
            env: environmentKey(input.repository, input.env),
            to: input.to,
            ...(input.fromVersion ? { fromVersion: input.fromVersion } : {}),
            by: input.by,
            ...(input.fencingToken !== undefined ? { fencingToken: input.fencingToken } : {}),
            signal,
            checkTarget: (target) => checkRollbackTarget(ports, input, target),
          });
          if (input.env === 'production' && input.fromVersion) {
            await noticeProductionChange(ports, input, result, {
              action: 'rollback',
              version: result.state.current?.version ?? '',
              fromVersion: input.fromVersion,
            });
            // Rolling back is a decision: the release's incident is closed.
            await ports.alerts
              ?.resolveRelease?.({
                repository: input.repository,
                version: input.fromVersion,
                reason: `rolled back by ${input.by}`,
              })
              .catch(() => []);
          }
          return result;
        }),
      );
    },

    /** Marks a version bad in the given environments (a rollback after a breach): never restored again. */
    async markBad(input: {
      repository: string;
      envs: string[];
      version: string;
      by: string;
      reason: string;
    }): Promise<{ notes: string[] }> {
      const notes: string[] = [];
      for (const env of input.envs) {
        const result = await definitive(() =>
          ports.environments.markBad({
            env: environmentKey(input.repository, env),
            version: input.version,
            by: input.by,
            reason: input.reason,
          }),
        );
        notes.push(result.note);
      }
      return { notes };
    },

    /** Records the running version as last good (after its checks passed). */
    async markGood(input: {
      repository: string;
      env: string;
      version: string;
      by: string;
      fencingToken?: number;
    }): Promise<EnvironmentChangeResult> {
      return await definitive(async () => {
        const result = await ports.environments.markGood({
          env: environmentKey(input.repository, input.env),
          version: input.version,
          by: input.by,
          ...(input.fencingToken !== undefined ? { fencingToken: input.fencingToken } : {}),
        });
        if (input.env === 'production') {
          // Healthy in production: whatever was opened about this release is closed.
          await ports.alerts
            ?.resolveRelease?.({ repository: input.repository, version: input.version, reason: 'healthy' })
            .catch(() => []);
        }
        await ports.announceRelease?.({
          repository: input.repository,
          env: input.env,
          version: input.version,
          by: input.by,
        });
        return result;
      });
    },

    async environmentState(input: { repository: string; env: string }): Promise<EnvironmentState> {
      return await definitive(() => ports.environments.state(environmentKey(input.repository, input.env)));
    },
  };
}
