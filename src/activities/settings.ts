/**
 * The per-repository settings a pipeline needs at run time, read from the worker's config
 * through an activity so the workflow stays deterministic (the answer is in its history) and a
 * config change applies to the next release, not to one half-way through.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { RepositoryConfig } from '../config/schema';
import type { ProductionReleaseInput } from '../workflows/production/messages';
import { FailureTypes } from '../domain/failures';

export interface SettingsPorts {
  repository: (name: string) => RepositoryConfig | undefined;
  /** Whether the server knows release-flow's search attributes (child starts set them). */
  searchAttributes?: boolean;
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
  };
}
