/**
 * Environment activities: deploy, roll back, mark good, read state. Each environment of a
 * repository has its own name in the Environments port (environmentKey), so repositories sharing
 * this worker never see each other's versions. Staging writes carry the lock's fencing token.
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { ArtifactRepository, Registry } from '../ports/registry';
import type {
  EnvironmentChangeResult,
  EnvironmentState,
  Environments,
  RollbackTarget,
} from '../ports/environments';
import { definitive } from './definitive';

export interface DeployPorts {
  environments: Environments;
  registry: Registry;
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
  /** The workflow or person asking. */
  by: string;
  fencingToken?: number;
}

const HEARTBEAT_EVERY_MS = 2_000;

/**
 * Runs a deploy or rollback heartbeating, so a cancellation (the lock was taken away) reaches it
 * within seconds and aborts its command's process group; the cancellation is what it then throws.
 */
async function cancellable<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = Context.current();
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
          return await ports.environments.deploy({
            env: environmentKey(input.repository, input.env),
            version: input.version,
            ...(location ? { artifact: { digest: location.digest, uri: location.uri } } : {}),
            by: input.by,
            ...(input.fencingToken !== undefined ? { fencingToken: input.fencingToken } : {}),
            signal,
          });
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
        definitive(() =>
          ports.environments.rollback({
            env: environmentKey(input.repository, input.env),
            to: input.to,
            ...(input.fromVersion ? { fromVersion: input.fromVersion } : {}),
            by: input.by,
            ...(input.fencingToken !== undefined ? { fencingToken: input.fencingToken } : {}),
            signal,
          }),
        ),
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
      return await definitive(() =>
        ports.environments.markGood({
          env: environmentKey(input.repository, input.env),
          version: input.version,
          by: input.by,
          ...(input.fencingToken !== undefined ? { fencingToken: input.fencingToken } : {}),
        }),
      );
    },

    async environmentState(input: { repository: string; env: string }): Promise<EnvironmentState> {
      return await definitive(() => ports.environments.state(environmentKey(input.repository, input.env)));
    },
  };
}
