/**
 * `release-flow github setup OWNER/REPO [--dry-run]`: makes a GitHub repository ready for the
 * flow (docs/integrations.md "GitHub"): merge commits only, and branch protection requiring approving reviews,
 * the release-flow statuses and up-to-date branches. Prints each change; `--dry-run` only reads.
 */
import type { Command } from 'commander';
import { pullRequestBuildPlan } from '../activities/pr-build-plan';
import { createGitHubClient } from '../adapters/github/client';
import { parseRepositoryRef } from '../adapters/github/repository-ref';
import {
  applyRepositorySetup,
  DEFAULT_REQUIRED_CONTEXTS,
  planRepositorySetup,
  type SetupPlan,
} from '../adapters/github/repository-setup';
import { loadConfig } from '../config/load';
import type { RepositoryConfig } from '../config/schema';
import { UserError } from '../common/errors';
import { StatusContexts } from '../ports/commit-statuses';
import type { CliContext } from './context';

interface SetupOptions {
  dryRun?: boolean;
  branch?: string;
  config?: string;
  approvals: string;
  context?: string[];
  json?: boolean;
}

function approvalsOption(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 6) {
    throw new UserError(
      'INVALID_OPTION',
      `--approvals ${JSON.stringify(text)} is not a whole number from 1 to 6`,
      'e.g. --approvals 2',
    );
  }
  return n;
}

function render(plan: SetupPlan, dryRun: boolean): string[] {
  if (plan.changes.length === 0) return [`${plan.repository}: already set up, nothing to change`];
  const verb = dryRun ? 'would change' : 'changed';
  return [
    `${plan.repository}: ${verb} ${plan.changes.length} setting${plan.changes.length === 1 ? '' : 's'}${dryRun ? ' (dry run: nothing sent)' : ''}`,
    ...plan.changes.map((c) => `  ${c.setting}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`),
  ];
}

/** The repository as configured, if it is: its default branch and commands decide the defaults. */
function configuredRepository(name: string, file: string | undefined): RepositoryConfig | undefined {
  const { config } = loadConfig({ file });
  return config.repositories.find((r) => r.name.toLowerCase() === name.toLowerCase());
}

/** `release-flow/policy`, and `release-flow/build` when pull requests of the repository are built. */
export function requiredContextsOf(repository: RepositoryConfig): string[] {
  const built = pullRequestBuildPlan(repository) !== undefined;
  return built ? [...DEFAULT_REQUIRED_CONTEXTS, StatusContexts.build] : [...DEFAULT_REQUIRED_CONTEXTS];
}

export function registerGitHubCommands(program: Command, ctx: CliContext): void {
  const github = program
    .command('github')
    .description(
      'GitHub repositories (credentials from GITHUB_TOKEN or GITHUB_APP_ID with GITHUB_APP_PRIVATE_KEY, API from GITHUB_API_URL)',
    );
  github
    .command('setup <owner/repo>')
    .description(
      'merge commits only; protect the branch with reviews, release-flow statuses and up-to-date branches',
    )
    .option('--dry-run', 'print what would change and send nothing')
    .option(
      '--branch <name>',
      "the release branch to protect (default: the repository's defaultBranch in the config, else GitHub's default branch)",
    )
    .option('--approvals <n>', 'approving reviews required', '1')
    .option(
      '--context <name>',
      `a status context to require (repeatable; default ${DEFAULT_REQUIRED_CONTEXTS.join(', ')})`,
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--config <file>', 'configuration file (the repository there decides the defaults)')
    .option('--json', 'print the plan as JSON')
    .action(async (name: string, opts: SetupOptions) => {
      const repository = parseRepositoryRef(name);
      const approvals = approvalsOption(opts.approvals);
      const configured = configuredRepository(name, opts.config);
      const branch = opts.branch ?? configured?.defaultBranch;
      const contexts = opts.context?.length ? opts.context : configured && requiredContextsOf(configured);
      // The repository lets App credentials without GITHUB_APP_INSTALLATION_ID find the installation.
      const client = await createGitHubClient({ repository });
      const plan = await planRepositorySetup(client, repository, {
        ...(branch ? { branch } : {}),
        approvals,
        ...(contexts ? { contexts } : {}),
      });
      if (!opts.dryRun) await applyRepositorySetup(client, repository, plan);
      if (opts.json) ctx.out(JSON.stringify({ dryRun: Boolean(opts.dryRun), ...plan }, null, 2));
      else for (const line of render(plan, Boolean(opts.dryRun))) ctx.out(line);
    });
}
