/**
 * Which repositories GitHub serves (docs/integrations.md "GitHub"): one rule, so the pipelines' ports, the PR
 * gate and `config check` never disagree about a repository.
 *
 * - `github.enabled` decides when it is given: `false` keeps a repository local even with a
 *   token in the environment (the demo, a mirror); `true` insists on GitHub, and a worker
 *   without credentials then refuses the GitHub steps naming the variable to set.
 * - Otherwise GitHub serves a repository when the worker has GitHub credentials (`GITHUB_TOKEN`
 *   or a GitHub App, see `githubCredentialsFromEnv`) and the repository's name is `OWNER/REPO`:
 *   the name webhooks deliver is then a GitHub repository this worker can reach.
 */
import { githubCredentialsFromEnv } from '../adapters/github/client';
import { isRepositoryFullName } from '../domain/repository-name';

/** The part of a repository's configuration the rule reads. */
export interface GitHubSelectable {
  name: string;
  github?: { enabled?: boolean | undefined } | undefined;
}

export interface GitHubSelection {
  github: boolean;
  /** Why, in words for `config check` and logs. */
  reason: string;
}

/** Whether the environment holds GitHub credentials: a token or a GitHub App. */
export function hasGitHubCredentials(env: NodeJS.ProcessEnv): boolean {
  try {
    return githubCredentialsFromEnv(env) !== undefined;
  } catch {
    // App settings given but wrong: GitHub is meant, and building its client says what is wrong.
    return true;
  }
}

export function githubSelection(repository: GitHubSelectable, env: NodeJS.ProcessEnv): GitHubSelection {
  const enabled = repository.github?.enabled;
  if (enabled === false) return { github: false, reason: 'github.enabled is false' };
  if (enabled === true) return { github: true, reason: 'github.enabled is true' };
  if (!isRepositoryFullName(repository.name)) {
    return { github: false, reason: `the name ${JSON.stringify(repository.name)} is not OWNER/REPO` };
  }
  if (!hasGitHubCredentials(env)) {
    return {
      github: false,
      reason: 'no GitHub credentials (GITHUB_TOKEN or a GitHub App) in the environment',
    };
  }
  return { github: true, reason: 'GitHub credentials are set and the name is OWNER/REPO' };
}

export function servedByGitHub(repository: GitHubSelectable, env: NodeJS.ProcessEnv): boolean {
  return githubSelection(repository, env).github;
}
