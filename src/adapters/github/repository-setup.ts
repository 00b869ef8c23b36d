/**
 * What the flow asks of a repository on GitHub (docs/integrations.md "GitHub"): merge commits only
 * (no squash, no rebase merges), and branch protection on the release branch requiring
 * approving reviews and the release-flow statuses, with branches up to date before merging.
 *
 * Planning reads only; applying writes only what differs. Branch protection is replaced as a
 * whole by GitHub's API, so the plan carries over every setting it does not own (other required
 * contexts, admins enforcement, push restrictions...), except linear history, which forbids the
 * merge commits the flow relies on.
 */
import { UserError } from '../../common/errors';
import { StatusContexts } from '../../ports/commit-statuses';
import {
  GitHubPermissions,
  explainAccess,
  githubMessage,
  isRequestFailure,
  withAccess,
} from './access-errors';
import type { GitHubClient } from './client';
import { fullName, type RepositoryRef } from './repository-ref';

export interface RepositorySetupOptions {
  /** The protected branch (default: the repository's default branch on GitHub). */
  branch?: string;
  /** Approving reviews required (default 1); a higher existing count is kept. */
  approvals?: number;
  /** Status contexts required before merging (default `release-flow/policy`). */
  contexts?: readonly string[];
}

export interface SetupChange {
  /** `allow_squash_merge`, `branch protection of main: required contexts`... */
  setting: string;
  from: unknown;
  to: unknown;
}

export interface MergeSettings {
  allow_squash_merge: boolean;
  allow_rebase_merge: boolean;
  allow_merge_commit: boolean;
}

/** The body of `PUT /repos/{owner}/{repo}/branches/{branch}/protection`. */
export interface ProtectionBody {
  required_status_checks: { strict: boolean; contexts: string[] };
  enforce_admins: boolean;
  required_pull_request_reviews: {
    required_approving_review_count: number;
    dismiss_stale_reviews: boolean;
    require_code_owner_reviews: boolean;
    require_last_push_approval: boolean;
  };
  restrictions: { users: string[]; teams: string[]; apps: string[] } | null;
  required_linear_history: boolean;
  allow_force_pushes: boolean;
  allow_deletions: boolean;
  required_conversation_resolution: boolean;
}

export interface SetupPlan {
  repository: string;
  branch: string;
  changes: SetupChange[];
  /** The PATCH to send, or null when the merge settings are already right. */
  mergeSettings: MergeSettings | null;
  /** The PUT to send, or null when the protection already asks for everything. */
  protection: ProtectionBody | null;
}

export const DEFAULT_REQUIRED_CONTEXTS: readonly string[] = [StatusContexts.policy];

const WANTED_MERGES: MergeSettings = {
  allow_squash_merge: false,
  allow_rebase_merge: false,
  allow_merge_commit: true,
};

// GET .../protection as far as it is read here.
interface CurrentProtection {
  required_status_checks?: { strict?: boolean; contexts?: string[]; checks?: Array<{ context: string }> };
  enforce_admins?: { enabled?: boolean };
  required_pull_request_reviews?: {
    required_approving_review_count?: number;
    dismiss_stale_reviews?: boolean;
    require_code_owner_reviews?: boolean;
    require_last_push_approval?: boolean;
  };
  restrictions?: {
    users?: Array<{ login?: string }>;
    teams?: Array<{ slug?: string }>;
    apps?: Array<{ slug?: string } | null>;
  };
  required_linear_history?: { enabled?: boolean };
  allow_force_pushes?: { enabled?: boolean };
  allow_deletions?: { enabled?: boolean };
  required_conversation_resolution?: { enabled?: boolean };
}

export async function planRepositorySetup(
  github: GitHubClient,
  repository: RepositoryRef,
  options: RepositorySetupOptions = {},
): Promise<SetupPlan> {
  const approvals = options.approvals ?? 1;
  const contexts = options.contexts ?? DEFAULT_REQUIRED_CONTEXTS;
  const where = fullName(repository);
  const { data: repo } = await withAccess(
    `read the settings of ${where}`,
    GitHubPermissions.administrationRead,
    () => github.rest.repos.get({ ...repository }),
  );
  const branch = options.branch ?? repo.default_branch ?? 'main';
  const changes: SetupChange[] = [];
  for (const [setting, wanted] of Object.entries(WANTED_MERGES) as Array<[keyof MergeSettings, boolean]>) {
    // The merge fields are absent for tokens without admin rights: then they are set regardless.
    if (repo[setting] !== wanted) changes.push({ setting, from: repo[setting] ?? 'unknown', to: wanted });
  }
  const mergeSettings = changes.length ? { ...WANTED_MERGES } : null;

  const current = await currentProtection(github, repository, branch);
  const existingContexts = [
    ...(current?.required_status_checks?.contexts ?? []),
    ...(current?.required_status_checks?.checks ?? []).map((c) => c.context),
  ];
  const reviews = current?.required_pull_request_reviews;
  const wanted: ProtectionBody = {
    required_status_checks: { strict: true, contexts: [...new Set([...existingContexts, ...contexts])] },
    enforce_admins: current?.enforce_admins?.enabled ?? false,
    required_pull_request_reviews: {
      required_approving_review_count: Math.max(reviews?.required_approving_review_count ?? 0, approvals),
      dismiss_stale_reviews: reviews?.dismiss_stale_reviews ?? false,
      require_code_owner_reviews: reviews?.require_code_owner_reviews ?? false,
      require_last_push_approval: reviews?.require_last_push_approval ?? false,
    },
    restrictions: current?.restrictions
      ? {
          users: (current.restrictions.users ?? []).map((u) => u.login ?? '').filter(Boolean),
          teams: (current.restrictions.teams ?? []).map((t) => t.slug ?? '').filter(Boolean),
          apps: (current.restrictions.apps ?? []).map((a) => a?.slug ?? '').filter(Boolean),
        }
      : null,
    // Linear history refuses merge commits: the flow merges with them (seed: "merge commits only").
    required_linear_history: false,
    allow_force_pushes: current?.allow_force_pushes?.enabled ?? false,
    allow_deletions: current?.allow_deletions?.enabled ?? false,
    required_conversation_resolution: current?.required_conversation_resolution?.enabled ?? false,
  };
  const protectionChanges: SetupChange[] = [];
  const on = `branch protection of ${branch}`;
  if (!current) protectionChanges.push({ setting: on, from: 'none', to: 'enabled' });
  const missing = contexts.filter((c) => !existingContexts.includes(c));
  if (missing.length) {
    protectionChanges.push({
      setting: `${on}: required status checks`,
      from: existingContexts,
      to: wanted.required_status_checks.contexts,
    });
  }
  if (current?.required_status_checks?.strict !== true) {
    protectionChanges.push({
      setting: `${on}: require branches to be up to date`,
      from: current?.required_status_checks?.strict ?? false,
      to: true,
    });
  }
  if ((reviews?.required_approving_review_count ?? 0) < approvals) {
    protectionChanges.push({
      setting: `${on}: required approving reviews`,
      from: reviews?.required_approving_review_count ?? 0,
      to: approvals,
    });
  }
  if (current?.required_linear_history?.enabled) {
    protectionChanges.push({ setting: `${on}: require linear history`, from: true, to: false });
  }
  changes.push(...protectionChanges);
  return {
    repository: where,
    branch,
    changes,
    mergeSettings,
    protection: protectionChanges.length ? wanted : null,
  };
}

/** Sends what the plan says differs; nothing when it is empty. */
export async function applyRepositorySetup(
  github: GitHubClient,
  repository: RepositoryRef,
  plan: SetupPlan,
): Promise<void> {
  const where = fullName(repository);
  if (plan.mergeSettings) {
    const settings = plan.mergeSettings;
    await withAccess(`change the merge settings of ${where}`, GitHubPermissions.administrationWrite, () =>
      github.rest.repos.update({ ...repository, ...settings }),
    );
  }
  if (plan.protection) {
    const protection = plan.protection;
    await withAccess(`protect ${plan.branch} in ${where}`, GitHubPermissions.administrationWrite, () =>
      github.rest.repos.updateBranchProtection({ ...repository, branch: plan.branch, ...protection }),
    );
  }
}

async function currentProtection(
  github: GitHubClient,
  repository: RepositoryRef,
  branch: string,
): Promise<CurrentProtection | null> {
  try {
    const { data } = await github.rest.repos.getBranchProtection({ ...repository, branch });
    return data as CurrentProtection;
  } catch (err) {
    if (isRequestFailure(err) && err.status === 404) {
      const message = githubMessage(err);
      if (/branch not protected/i.test(message)) return null;
      if (/branch not found/i.test(message)) {
        throw new UserError(
          'UNKNOWN_BRANCH',
          `${fullName(repository)} has no branch ${branch}`,
          'pass --branch with the release branch, or push it first',
        );
      }
    }
    throw explainAccess(
      err,
      `read the branch protection of ${branch} in ${fullName(repository)}`,
      GitHubPermissions.administrationRead,
    );
  }
}
