/**
 * `release-flow check-pr`: the pull-request gate of stage 0 run on a local repository; prints
 * every violation and exits 1 when there is one (docs/pipelines-and-decisions.md "Release rules").
 */
import type { Command } from 'commander';
import {
  checkPullRequest,
  DEFAULT_ALLOWED_TYPES,
  DEFAULT_TICKET_PATTERN,
  type PrVerdict,
} from '../domain/pr-policy';
import { UserError } from '../common/errors';
import type { GitPort } from '../ports/git';
import { presetOption } from './next-version-command';
import type { CliContext } from './context';
import { openCompleteRepository } from './repository-checks';
import { CommitPresets, type CommitPreset } from '../domain/commit-analysis';

interface CheckPrOptions {
  repo: string;
  branch: string;
  base: string;
  json?: boolean;
  ticketPattern: string;
  types: string;
  preset: string;
}

export interface CheckPrReport extends PrVerdict {
  branch: string;
  base: string;
  branchHead: string;
  baseHead: string;
  commits: number;
}

async function resolveBase(git: GitPort, base: string): Promise<{ name: string; head: string }> {
  try {
    return { name: base, head: await git.resolveCommit(base) };
  } catch (err) {
    // A CI checkout often has only the remote-tracking branch of the base.
    const remote = `origin/${base}`;
    const head = await git.resolveCommit(remote).catch(() => null);
    if (head) return { name: remote, head };
    throw err;
  }
}

export async function checkPullRequestOf(
  git: GitPort,
  branch: string,
  baseName: string,
  options: { ticketPattern: string; allowedTypes: string[]; preset: CommitPreset },
): Promise<CheckPrReport> {
  if (branch === baseName) {
    throw new UserError(
      'BRANCH_IS_BASE',
      `--branch and --base are both ${branch}`,
      'pass the pull request branch as --branch',
    );
  }
  const branchHead = await git.resolveCommit(branch);
  const base = await resolveBase(git, baseName);
  if (branchHead === base.head) {
    throw new UserError(
      'BRANCH_IS_BASE',
      `${branch} and ${base.name} are the same commit ${branchHead.slice(0, 7)}: nothing to check`,
      'commit on the branch, or pass the pull request branch as --branch',
    );
  }
  const commits = await git.commitsBetween(base.head, branchHead);
  const verdict = checkPullRequest(
    {
      branch: await git.branchName(branch),
      base: base.name,
      commits,
      baseIsAncestor: await git.isAncestor(base.head, branchHead),
    },
    options,
  );
  return { ...verdict, branch, base: base.name, branchHead, baseHead: base.head, commits: commits.length };
}

function ticketPatternOption(pattern: string): string {
  try {
    new RegExp(pattern);
  } catch {
    throw new UserError(
      'INVALID_OPTION',
      `--ticket-pattern ${JSON.stringify(pattern)} is not a regular expression`,
      'fix it',
    );
  }
  return pattern;
}

function typesOption(types: string): string[] {
  const list = types
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (list.length === 0 || list.some((t) => !/^\w+$/.test(t))) {
    throw new UserError(
      'INVALID_OPTION',
      `--types ${JSON.stringify(types)} is not a list of words`,
      'e.g. --types feat,fix,docs',
    );
  }
  return list;
}

export function registerCheckPrCommand(program: Command, ctx: CliContext): void {
  program
    .command('check-pr')
    .description(
      'check a pull request branch against the policy: uid/TICKET-ID name, commit headers, rebased',
    )
    .option('--repo <dir>', 'the repository', '.')
    .requiredOption('--branch <branch>', 'the pull request branch (local or remote-tracking)')
    .option('--base <branch>', 'the branch the pull request merges into', 'main')
    .option('--ticket-pattern <regex>', 'ticket ids in branch names and scopes', DEFAULT_TICKET_PATTERN)
    .option('--types <list>', 'allowed commit types, comma-separated', DEFAULT_ALLOWED_TYPES.join(','))
    .option('--preset <name>', 'commit convention: angular refuses `type!:`', CommitPresets.angular)
    .option('--json', 'print one JSON object')
    .action(async (opts: CheckPrOptions) => {
      const options = {
        ticketPattern: ticketPatternOption(opts.ticketPattern),
        allowedTypes: typesOption(opts.types),
        preset: presetOption(opts.preset),
      };
      const git = await openCompleteRepository(opts.repo);
      const report = await checkPullRequestOf(git, opts.branch, opts.base, options);
      if (opts.json) {
        ctx.out(JSON.stringify(report, null, 2));
      } else {
        const count = report.violations.length;
        ctx.out(
          `${report.branch} against ${report.base} (${report.commits} commit${report.commits === 1 ? '' : 's'}): ` +
            (count ? `${count} violation${count === 1 ? '' : 's'}` : 'OK'),
        );
        for (const v of report.violations) {
          ctx.out(`  ${v.rule.padEnd(13)} ${v.sha ? `${v.sha.slice(0, 7)} ${v.header}: ` : ''}${v.message}`);
        }
      }
      if (!report.ok) ctx.setExitCode(1);
    });
}
