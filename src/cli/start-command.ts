/**
 * Start a pipeline stage by hand; a second start finds the first run.
 *
 *   release-flow start main-commit --repo R --sha SHA
 *   release-flow start tag --repo R --tag vX.Y.Z [--sha SHA]
 *   release-flow start pr-gate --repo R --branch B [--base main] [--number N] [--sha SHA]
 *   release-flow start pr-recheck --repo R [--base main] [--sha SHA]
 */
import path from 'node:path';
import type { Command } from 'commander';
import { LocalGitRepository } from '../adapters/local/git-repository';
import { PullRequestRegistry, pullRequestRegistryPath } from '../adapters/local/local-pull-requests';
import { loadConfig } from '../config/load';
import { ReleaseLedger, releaseLedgerPath } from '../adapters/local/release-ledger';
import { DEFAULT_RELEASE_TAG_FORMAT, isReleaseTag } from '../domain/release-tags';
import type { Config, RepositoryConfig } from '../config/schema';
import { githubSelection, servedByGitHub } from '../composition/github-selection';
import { UserError } from '../common/errors';
import {
  AlreadyReleased,
  startMainCommit,
  startPullRequestGate,
  startPullRequestRecheck,
  startTagRelease,
  type StartResult,
} from '../starter';
import type { PullRequestGateInput } from '../workflows/pr-gate/messages';
import { repositoryOf } from './configured-repository';
import type { CliContext } from './context';
import { withTemporalClient } from './temporal-client';

interface GlobalOptions {
  config?: string;
}

function printStart(ctx: CliContext, what: string, result: StartResult, json: boolean | undefined): void {
  if (json) ctx.out(JSON.stringify(result));
  else ctx.out(`${result.started ? 'started' : 'already started'}: ${what} (workflow ${result.workflowId})`);
}

async function resolveCommit(repo: RepositoryConfig, revision: string): Promise<string> {
  if (!repo.path) {
    throw new UserError(
      'COMMIT_UNKNOWN',
      `cannot resolve ${revision}: repository ${repo.name} has no local path`,
      'pass the full commit hash with --sha',
    );
  }
  const git = await LocalGitRepository.open(repo.path);
  return await git.resolveCommit(revision);
}

/** A full commit id as given, else `sha` (or `fallback`) resolved in the local clone. */
async function headOf(repo: RepositoryConfig, sha: string | undefined, fallback: string): Promise<string> {
  return sha && /^[0-9a-f]{40}$/.test(sha) ? sha : await resolveCommit(repo, sha ?? fallback);
}

interface TagStartOptions {
  repo: string;
  tag: string;
  sha?: string;
  force?: boolean;
  by?: string;
  reason?: string;
  json?: boolean;
}

interface PrGateStartOptions {
  repo: string;
  branch: string;
  base?: string;
  number?: string;
  sha?: string;
  json?: boolean;
}

function pullRequestNumber(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    throw new UserError(
      'BAD_PR_NUMBER',
      `--number ${text} is not a pull request number`,
      'pass a positive integer',
    );
  }
  return n;
}

/**
 * The gate's input from the command line. For a local repository the head comes from the
 * clone and the number from the gate's registry (the same branch keeps its number, reserved
 * at once so two starts never share one), so starting it twice for one head finds the first
 * run. A repository GitHub serves has its own numbers: `--number` is required there.
 */
async function pullRequestGateInputOf(
  config: Readonly<Config>,
  opts: PrGateStartOptions,
): Promise<PullRequestGateInput> {
  const repo = repositoryOf(config, opts.repo);
  const base = opts.base ?? repo.defaultBranch;
  if (!opts.number && servedByGitHub(repo, process.env)) {
    throw new UserError(
      'PR_NUMBER_REQUIRED',
      `${repo.name} is served by GitHub (${githubSelection(repo, process.env).reason}), whose pull request numbers this machine does not know`,
      `pass --number with the number of the pull request of ${opts.branch} on GitHub`,
    );
  }
  if (!repo.path && (!opts.sha || !opts.number)) {
    throw new UserError(
      'PR_HEAD_UNKNOWN',
      `repository ${repo.name} has no local path, so the head and number of ${opts.branch} cannot be read here`,
      'pass --sha with the head commit and --number with the pull request number',
    );
  }
  const head = await headOf(repo, opts.sha, `refs/heads/${opts.branch}`);
  const number = opts.number
    ? pullRequestNumber(opts.number)
    : await localPullRequests(config, repo).reserve({ headRef: opts.branch, headSha: head, baseRef: base });
  return { repository: repo.name, number, head, branch: opts.branch, base };
}

function localPullRequests(config: Readonly<Config>, repo: RepositoryConfig): PullRequestRegistry {
  return new PullRequestRegistry(
    pullRequestRegistryPath(path.resolve(config.stateDir, 'pull-requests'), repo.name),
  );
}

export function registerStartCommands(program: Command, ctx: CliContext): void {
  const start = program
    .command('start')
    .description('start a pipeline stage by hand (idempotent: a second start finds the first run)');
  start
    .command('main-commit')
    .description('stage 1 for a commit of the default branch')
    .requiredOption('--repo <name>', 'configured repository')
    .requiredOption('--sha <commit>', 'the commit (full hash, or any revision of a local repository)')
    .option('--config <file>', 'configuration file')
    .option('--json', 'print JSON')
    .action(async (opts: { repo: string; sha: string; json?: boolean } & GlobalOptions) => {
      await withTemporalClient({ configFile: opts.config }, async ({ client, config }) => {
        const repo = repositoryOf(config, opts.repo);
        const commit = await headOf(repo, opts.sha, opts.sha);
        const result = await startMainCommit(
          client,
          { repository: repo.name, commit },
          { taskQueue: config.temporal.taskQueue },
        );
        printStart(ctx, `main-commit ${repo.name} ${commit.slice(0, 12)}`, result, opts.json);
      });
    });
  start
    .command('tag')
    .description('stage 2 for a release tag')
    .requiredOption('--repo <name>', 'configured repository')
    .requiredOption('--tag <tag>', 'the release tag, e.g. v1.2.3')
    .option('--sha <commit>', 'the commit the tag marks (default: read from the local repository)')
    .option('--force', 'start even though this version already reached production (needs --by and --reason)')
    .option('--by <name>', 'who forces the re-release (recorded)')
    .option('--reason <text>', 'why it is released again (recorded)')
    .option('--config <file>', 'configuration file')
    .option('--json', 'print JSON')
    .action(async (opts: TagStartOptions & GlobalOptions) => {
      if (opts.force && (!opts.by?.trim() || !opts.reason?.trim())) {
        throw new UserError(
          'FORCE_NEEDS_REASON',
          '--force re-releases a version that reached production: say who and why',
          'add --by NAME --reason TEXT',
        );
      }
      // The tag rule and the ledger are asked before any connection: both answer without Temporal.
      const repo = repositoryOf(loadConfig({ file: opts.config }).config, opts.repo);
      if (!isReleaseTag(opts.tag, { pattern: repo.releaseTagPattern, format: DEFAULT_RELEASE_TAG_FORMAT })) {
        throw new UserError(
          'NOT_A_RELEASE_TAG',
          `${opts.tag} is not a release tag of ${repo.name}: it must match ${repo.releaseTagPattern} and name a semantic version without leading zeros`,
          'pass a release tag such as v1.2.3',
        );
      }
      const refused = (releasedAt: string) =>
        new UserError(
          'ALREADY_RELEASED',
          `${opts.tag} of ${repo.name} was already released (reached production ${releasedAt})`,
          'release a new version, or re-release this one with --force --by NAME --reason TEXT',
        );
      await withTemporalClient({ configFile: opts.config }, async ({ client, config }) => {
        const ledger = ReleaseLedger.open(releaseLedgerPath(path.resolve(config.stateDir)));
        try {
          const earlier = ledger.released(repo.name, opts.tag);
          if (earlier && !opts.force) throw refused(earlier.releasedAt);
          const commit = opts.sha ?? (await resolveCommit(repo, `refs/tags/${opts.tag}`));
          const result = await startTagRelease(
            client,
            { repository: repo.name, tag: opts.tag, commit },
            {
              taskQueue: config.temporal.taskQueue,
              releases: ledger,
              ...(opts.force ? { force: { by: opts.by!.trim(), reason: opts.reason!.trim() } } : {}),
            },
          ).catch((err: unknown) => {
            throw err instanceof AlreadyReleased ? refused(err.releasedAt) : err;
          });
          printStart(ctx, `tag ${repo.name} ${opts.tag}`, result, opts.json);
        } finally {
          ledger.close();
        }
      });
    });

  start
    .command('pr-gate')
    .description('stage 0 for a pull request branch: the policy check (and the PR build when configured)')
    .requiredOption('--repo <name>', 'configured repository')
    .requiredOption('--branch <name>', 'the pull request branch, e.g. nyefan/JIRA-1234')
    .option('--base <name>', 'the branch it merges into (default: the repository default branch)')
    .option('--number <n>', 'the pull request number (default for a local repository: one per branch)')
    .option('--sha <commit>', 'the head commit (default: read from the local repository)')
    .option('--config <file>', 'configuration file')
    .option('--json', 'print JSON')
    .action(async (opts: PrGateStartOptions & GlobalOptions) => {
      // What the command line lacks is said before any connection is tried.
      const input = await pullRequestGateInputOf(loadConfig({ file: opts.config }).config, opts);
      await withTemporalClient({ configFile: opts.config }, async ({ client, config }) => {
        const result = await startPullRequestGate(client, input, { taskQueue: config.temporal.taskQueue });
        printStart(
          ctx,
          `pr-gate ${input.repository}#${input.number} ${input.head.slice(0, 12)}`,
          result,
          opts.json,
        );
      });
    });

  start
    .command('pr-recheck')
    .description('stage 0 again for every open pull request into a base, as after a push to it')
    .requiredOption('--repo <name>', 'configured repository')
    .option('--base <name>', 'the base branch (default: the repository default branch)')
    .option('--sha <commit>', "the base's head (default: read from the local repository)")
    .option('--config <file>', 'configuration file')
    .option('--json', 'print JSON')
    .action(async (opts: { repo: string; base?: string; sha?: string; json?: boolean } & GlobalOptions) => {
      await withTemporalClient({ configFile: opts.config }, async ({ client, config }) => {
        const repo = repositoryOf(config, opts.repo);
        const base = opts.base ?? repo.defaultBranch;
        const commit = await headOf(repo, opts.sha, `refs/heads/${base}`);
        const result = await startPullRequestRecheck(
          client,
          { repository: repo.name, base, commit },
          { taskQueue: config.temporal.taskQueue },
        );
        printStart(ctx, `pr-recheck ${repo.name} ${base} ${commit.slice(0, 12)}`, result, opts.json);
      });
    });
}
