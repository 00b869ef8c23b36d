/**
 * Environment activities: deploy, roll back, mark good, read state. Each environment of a
 * repository has its own name in the Environments port (environmentKey), so repositories sharing
 * this worker never see each other's versions. Staging writes carry the lock's fencing token.
 */
import { createHash } from 'node:crypto';
import type { ArtifactRepository, Registry } from '../ports/registry';
import type {
  EnvironmentChangeResult,
  EnvironmentState,
  Environments,
  RollbackTarget,
} from '../ports/environments';
import type { ReleaseRecord } from '../ports/release-record';
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

export function createDeployActivities(ports: DeployPorts) {
  return {
    /** Deploys an artifact; deploying what already runs changes nothing and says so. */
    async deployVersion(input: DeployVersionInput): Promise<EnvironmentChangeResult> {
      return await definitive(async () => {
        const location = await ports.registry.resolve({
          repository: input.artifact.repository,
          artifact: input.repository,
          tag: input.artifact.tag,
        });
        const result = await ports.environments.deploy({
          env: environmentKey(input.repository, input.env),
          version: input.version,
          ...(location ? { artifact: { digest: location.digest, uri: location.uri } } : {}),
          by: input.by,
          ...(input.fencingToken !== undefined ? { fencingToken: input.fencingToken } : {}),
        });
        // Recorded here, not in the workflow: the doors refuse this version's tag from now on,
        // even after its runs have left Temporal (README "Released means released").
        if (input.env === 'production') {
          ports.releases?.recordProduction({
            repository: input.repository,
            version: input.version,
            by: input.by,
          });
        }
        return result;
      });
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
      return await definitive(() =>
        ports.environments.rollback({
          env: environmentKey(input.repository, input.env),
          to: input.to,
          ...(input.fromVersion ? { fromVersion: input.fromVersion } : {}),
          by: input.by,
          ...(input.fencingToken !== undefined ? { fencingToken: input.fencingToken } : {}),
        }),
      );
    },

    /** Records the running version as last good (after its checks passed). */
    async markGood(input: {
      repository: string;
      env: string;
      version: string;
      by: string;
      fencingToken?: number;
    }): Promise<EnvironmentChangeResult> {
      const result = await definitive(() =>
        ports.environments.markGood({
          env: environmentKey(input.repository, input.env),
          version: input.version,
          by: input.by,
          ...(input.fencingToken !== undefined ? { fencingToken: input.fencingToken } : {}),
        }),
      );
      await ports.announceRelease?.({
        repository: input.repository,
        env: input.env,
        version: input.version,
        by: input.by,
      });
      return result;
    },

    async environmentState(input: { repository: string; env: string }): Promise<EnvironmentState> {
      return await definitive(() => ports.environments.state(environmentKey(input.repository, input.env)));
    },
  };
}
