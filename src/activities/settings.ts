/**
 * The per-repository settings a pipeline needs at run time, read from the worker's config
 * through an activity so the workflow stays deterministic (the answer is in its history) and a
 * config change applies to the next release, not to one half-way through.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { RepositoryConfig } from '../config/schema';
import type { ProductionReleaseInput } from '../workflows/production/messages';
import { FailureTypes } from '../domain/failures';
import type { ReleaseRecord } from '../ports/release-record';

export interface SettingsPorts {
  repository: (name: string) => RepositoryConfig | undefined;
  /** Whether the server knows release-flow's search attributes (child starts set them). */
  searchAttributes?: boolean;
  /** Whether GitHub serves a repository, so its tag pushes arrive as webhooks (github-selection.ts). */
  onGitHub?: (repository: RepositoryConfig) => boolean;
  /** Versions that reached production: their tag pipeline is never started again on its own. */
  releases?: ReleaseRecord;
}

/** Whether the main-commit pipeline that made a tag starts its tag pipeline, and why. */
export interface TagPipelineStart {
  start: boolean;
  reason: string;
  searchAttributes: boolean;
}

export interface RepositorySettings {
  requirePromote: boolean;
  releaseTagPattern: string;
  searchAttributes: boolean;
  /** Passed to the production pipeline at hand-off. */
  production?: Pick<ProductionReleaseInput, 'health' | 'escalation' | 'deciders'>;
}

function productionSettings(repo: RepositoryConfig): RepositorySettings['production'] {
  const { window, sampleInterval, ...parameters } = repo.health;
  const defined = <T extends object>(o: T) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  return {
    health: {
      ...(window ? { window } : {}),
      ...(sampleInterval ? { sampleInterval } : {}),
      parameters: defined(parameters),
    },
    escalation: defined(repo.escalation),
    ...(repo.deciders ? { deciders: repo.deciders } : {}),
  };
}

export function createSettingsActivities(ports: SettingsPorts) {
  return {
    /** The release settings of a configured repository. */
    async repositorySettings(input: { repository: string }): Promise<RepositorySettings> {
      const repo = ports.repository(input.repository);
      if (!repo) {
        throw ApplicationFailure.nonRetryable(
          `repository ${input.repository} is not configured; add it under repositories: in the config file`,
          FailureTypes.repositoryNotConfigured,
        );
      }
      return {
        requirePromote: repo.requirePromote,
        releaseTagPattern: repo.releaseTagPattern,
        searchAttributes: ports.searchAttributes ?? true,
        production: productionSettings(repo),
      };
    },

    /**
     * A repository GitHub serves gets its tag pipeline from the tag's push (a webhook); one with no
     * webhook source (a local clone) from the main-commit pipeline that made the tag. A version
     * already in production is not started again (README "Released means released").
     */
    async checkTagPipelineStart(input: { repository: string; tag: string }): Promise<TagPipelineStart> {
      const repo = ports.repository(input.repository);
      const searchAttributes = ports.searchAttributes ?? true;
      if (!repo) {
        return { start: false, reason: `${input.repository} is not configured`, searchAttributes };
      }
      if (ports.onGitHub?.(repo) ?? false) {
        return {
          start: false,
          reason: `GitHub serves ${repo.name}: the push of ${input.tag} starts it`,
          searchAttributes,
        };
      }
      const released = ports.releases?.released(repo.name, input.tag);
      if (released) {
        return {
          start: false,
          reason: `${input.tag} of ${repo.name} already reached production (${released.releasedAt})`,
          searchAttributes,
        };
      }
      return {
        start: true,
        reason: `${repo.name} has no webhook source: the pipeline that made ${input.tag} starts it`,
        searchAttributes,
      };
    },
  };
}
