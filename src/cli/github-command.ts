/**
 * `release-flow github setup OWNER/REPO [--dry-run]`: makes a GitHub repository ready for the
 * flow (issue 7): merge commits only, and branch protection requiring approving reviews, the
 * release-flow statuses and up-to-date branches. Prints each change; `--dry-run` only reads.
 */
import type { Command } from 'commander';
import { createGitHubClient } from '../adapters/github/client';
import { parseRepositoryRef } from '../adapters/github/repository-ref';
import {
  applyRepositorySetup,
  DEFAULT_REQUIRED_CONTEXTS,
  planRepositorySetup,
  type SetupPlan,
} from '../adapters/github/repository-setup';
import { UserError } from '../errors';
import type { CliContext } from './main';

interface SetupOptions {
  dryRun?: boolean;
  branch: string;
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
    .option('--branch <name>', 'the release branch to protect', 'main')
    .option('--approvals <n>', 'approving reviews required', '1')
    .option(
      '--context <name>',
      `a status context to require (repeatable; default ${DEFAULT_REQUIRED_CONTEXTS.join(', ')})`,
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--json', 'print the plan as JSON')
    .action(async (name: string, opts: SetupOptions) => {
      const repository = parseRepositoryRef(name);
      const approvals = approvalsOption(opts.approvals);
      // The repository lets App credentials without GITHUB_APP_INSTALLATION_ID find the installation.
      const client = await createGitHubClient({ repository });
      const plan = await planRepositorySetup(client, repository, {
        branch: opts.branch,
        approvals,
        ...(opts.context?.length ? { contexts: opts.context } : {}),
      });
      if (!opts.dryRun) await applyRepositorySetup(client, repository, plan);
      if (opts.json) ctx.out(JSON.stringify({ dryRun: Boolean(opts.dryRun), ...plan }, null, 2));
      else for (const line of render(plan, Boolean(opts.dryRun))) ctx.out(line);
    });
}
