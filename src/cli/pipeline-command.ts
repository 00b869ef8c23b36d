/**
 * Pipeline commands (issue 5): start a stage by hand, promote, decide, and show every release.
 *
 *   release-flow start main-commit --repo R --sha SHA
 *   release-flow start tag --repo R --tag vX.Y.Z [--sha SHA]
 *   release-flow start pr-gate --repo R --branch B [--base main] [--number N] [--sha SHA]
 *   release-flow start pr-recheck --repo R [--base main] [--sha SHA]
 *   release-flow promote R vX.Y.Z --by NAME
 *   release-flow decide R vX.Y.Z emergency|rollback|fail-forward --by NAME [--reason TEXT]
 *   release-flow status [--json]
 */
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { environmentKey } from '../activities/deploy';
import { LocalEnvironments } from '../adapters/local/local-environments';
import { LocalGitRepository } from '../adapters/local/git-repository';
import { PullRequestRegistry, pullRequestRegistryPath } from '../adapters/local/local-pull-requests';
import { loadConfig } from '../config/load';
import { ReleaseLedger, releaseLedgerPath } from '../adapters/local/release-ledger';
import { DEFAULT_RELEASE_TAG_FORMAT, isReleaseTag } from '../domain/release-tags';
import type { Config, RepositoryConfig } from '../config/schema';
import { githubSelection, servedByGitHub } from '../github-selection';
import { UserError } from '../errors';
import {
  AlreadyReleased,
  startMainCommit,
  startPullRequestGate,
  startPullRequestRecheck,
  startTagRelease,
  type StartResult,
} from '../starter';
import { pipelineWorkflowId } from '../workflows/shared/messages';
import {
  anyPipelineStatusQuery as statusQuery,
  type AnyPipelineStatus as PipelineStatus,
} from '../workflows/pipeline-status';
import { promoteSignal } from '../workflows/tag/messages';
import type { PullRequestGateInput } from '../workflows/pr-gate/messages';
import { lockWorkflowId, statusQuery as lockStatusQuery, type LockStatus } from '../workflows/lock/messages';
import { decideUpdate, type Decision } from '../workflows/production/messages';
import type { CliContext } from './main';
import { withTemporalClient } from './temporal-client';

interface GlobalOptions {
  config?: string;
}

const CLI_DECISIONS: Record<string, Decision> = {
  emergency: 'emergency',
  rollback: 'rollback',
  'fail-forward': 'failForward',
  failForward: 'failForward',
};

function repositoryOf(config: Readonly<Config>, name: string): RepositoryConfig {
  const repo = config.repositories.find((r) => r.name === name);
  if (!repo) {
    const known = config.repositories.map((r) => r.name).join(', ') || 'none';
    throw new UserError(
      'UNKNOWN_REPOSITORY',
      `repository ${name} is not configured (configured: ${known})`,
      'add it under repositories: in the config file, or check the spelling',
    );
  }
  return repo;
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

export function registerPipelineCommands(program: Command, ctx: CliContext): void {
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

  program
    .command('promote <repo> <version>')
    .description('hand a version waiting in staging to production (repositories with requirePromote)')
    .requiredOption('--by <name>', 'who promotes')
    .option('--reason <text>', 'why')
    .option('--config <file>', 'configuration file')
    .action(async (repo: string, version: string, opts: { by: string; reason?: string } & GlobalOptions) => {
      await withTemporalClient({ configFile: opts.config }, async ({ client }) => {
        const handle = client.workflow.getHandle(pipelineWorkflowId('tag', repo, version));
        const status = await queryStatus(client, pipelineWorkflowId('tag', repo, version));
        if (!status.awaitingPromotion) {
          throw new UserError(
            'NOT_AWAITING_PROMOTION',
            `${repo} ${version} is not waiting for promotion (state ${status.state}, step ${status.step})`,
            'see `release-flow status`',
          );
        }
        await handle.signal(promoteSignal, { by: opts.by, ...(opts.reason ? { reason: opts.reason } : {}) });
        ctx.out(`promoted: ${repo} ${version} by ${opts.by}`);
      });
    });

  program
    .command('decide <repo> <version> <decision>')
    .description('answer a production breach: emergency, rollback or fail-forward')
    .requiredOption('--by <name>', 'who decides')
    .option('--reason <text>', 'why')
    .option('--config <file>', 'configuration file')
    .option('--json', 'print JSON')
    .action(
      async (
        repo: string,
        version: string,
        name: string,
        opts: { by: string; reason?: string; json?: boolean } & GlobalOptions,
      ) => {
        const decision = CLI_DECISIONS[name];
        if (!decision) {
          throw new UserError(
            'UNKNOWN_DECISION',
            `unknown decision ${JSON.stringify(name)}`,
            'use emergency, rollback or fail-forward',
          );
        }
        await withTemporalClient({ configFile: opts.config }, async ({ client }) => {
          const workflowId = pipelineWorkflowId('production', repo, version);
          try {
            const record = await client.workflow.getHandle(workflowId).executeUpdate(decideUpdate, {
              args: [{ decision, by: opts.by, ...(opts.reason ? { reason: opts.reason } : {}) }],
            });
            ctx.out(
              opts.json
                ? JSON.stringify({ accepted: true, decision: record })
                : `accepted: ${name} by ${opts.by} on ${repo} ${version}`,
            );
          } catch (err) {
            if (
              err instanceof WorkflowUpdateFailedError ||
              (err instanceof Error && /reject/i.test(err.message))
            ) {
              const why = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
              ctx.out(opts.json ? JSON.stringify({ accepted: false, reason: why }) : `rejected: ${why}`);
              ctx.setExitCode(1);
              return;
            }
            if (err instanceof WorkflowNotFoundError) {
              const ended = await endedState(client, workflowId);
              if (ended) {
                // The release exists but its run is over: a decision now changes nothing.
                const why = `${repo} ${version} has ended (${ended}); no decision is awaited`;
                ctx.out(opts.json ? JSON.stringify({ accepted: false, reason: why }) : `rejected: ${why}`);
                ctx.setExitCode(1);
                return;
              }
              throw new UserError(
                'NO_SUCH_RELEASE',
                `no production release ${repo} ${version} (workflow ${workflowId})`,
                'check the repository and version with `release-flow status`',
              );
            }
            throw err;
          }
        });
      },
    );

  program
    .command('status')
    .description(
      'every release: repository, version, stage, state, whether a decision is awaited, versions per environment',
    )
    .option('--json', 'print JSON')
    .option('--limit <n>', 'newest releases to show (1-1000)', parseLimit, 50)
    .option('--config <file>', 'configuration file')
    .action(async (opts: { json?: boolean; limit: number } & GlobalOptions) => {
      await withTemporalClient({ configFile: opts.config }, async ({ client, config }) => {
        const releases = await collectReleases(client, config, opts.limit);
        if (opts.json) ctx.out(JSON.stringify(releases, null, 2));
        else if (!releases.length) ctx.out('no releases yet');
        else for (const r of releases) ctx.out(renderRelease(r));
      });
    });
}

/** The closed run's state (from its status query, else its Temporal status), or undefined. */
async function endedState(client: Client, workflowId: string): Promise<string | undefined> {
  try {
    const handle = client.workflow.getHandle(workflowId);
    const described = await handle.describe();
    const status = await handle.query(statusQuery).catch(() => undefined);
    return status?.state ?? described.status.name.toLowerCase();
  } catch {
    return undefined;
  }
}

async function queryStatus(client: Client, workflowId: string): Promise<PipelineStatus> {
  try {
    return await client.workflow.getHandle(workflowId).query(statusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      throw new UserError(
        'NO_SUCH_RELEASE',
        `no workflow ${workflowId}`,
        'check the repository and version with `release-flow status`',
      );
    }
    throw err;
  }
}

export interface ReleaseEntry {
  repo: string;
  version: string | null;
  commit: string | null;
  stage: string;
  state: string;
  step: string;
  awaitingDecision: boolean;
  workflowId: string;
  environments: { dev: string | null; staging: string | null; production: string | null };
  /** A release waiting for staging while it is hotfix-only: what it waits for, since when, by whom. */
  waitingFor?: WaitingFor;
}

export interface WaitingFor {
  resource: string;
  mode: string;
  /** The incident the mode was switched for (`HOT-1`), or null when the reason names none. */
  incident: string | null;
  /** ISO: since the release waited and the mode held, whichever is later. */
  since: string;
  by: string;
}

/** What a queued, non-hotfix request waits for while the lock is hotfix-only. */
export function waitingForOf(lock: LockStatus | undefined, workflowId: string): WaitingFor | undefined {
  if (!lock || lock.mode.mode !== 'hotfixOnly') return undefined;
  const queued = lock.queue.find((q) => q.workflowId === workflowId);
  if (!queued || queued.priority === 'hotfix') return undefined;
  const incident = /\b(HOT-\d+)\b/.exec(lock.mode.reason)?.[1] ?? null;
  const since =
    Date.parse(queued.waitingSince) > Date.parse(lock.mode.since) ? queued.waitingSince : lock.mode.since;
  return { resource: lock.resource, mode: lock.mode.mode, incident, since, by: lock.mode.by };
}

const TYPES = ['mainCommitWorkflow', 'tagReleaseWorkflow', 'productionReleaseWorkflow'];

async function collectReleases(
  client: Client,
  config: Readonly<Config>,
  limit: number,
): Promise<ReleaseEntry[]> {
  const query = `WorkflowType IN (${TYPES.map((t) => `'${t}'`).join(', ')})`;
  // One entry per release: the newest stage a version (or an untagged commit) reached.
  const byRelease = new Map<string, ReleaseEntry>();
  const environments = new LocalEnvironments({ dir: path.resolve(config.stateDir, 'environments') });
  const envCache = new Map<string, ReleaseEntry['environments']>();
  const staging = await client.workflow
    .getHandle(lockWorkflowId('staging'))
    .query(lockStatusQuery)
    .catch(() => undefined);
  // A release has at most one run per stage: this many runs always hold `limit` releases.
  const listed: WorkflowExecutionInfo[] = [];
  for await (const wf of client.workflow.list({ query, pageSize: 100 })) {
    listed.push(wf);
    if (listed.length >= limit * TYPES.length) break;
  }
  // Each query may replay a closed run on a worker: ask them side by side, not one after another.
  const statuses = await mapConcurrently(listed, 8, (wf) =>
    client.workflow
      .getHandle(wf.workflowId, wf.runId)
      .query(statusQuery)
      .catch(() => undefined),
  );
  for (const [i, wf] of listed.entries()) {
    if (byRelease.size >= limit) break;
    // undefined: no worker to answer, so show what visibility knows.
    const status: PipelineStatus | undefined = statuses[i];
    const [stage, repo, key] = splitId(wf.workflowId);
    const version = status?.version ?? (stage === 'main-commit' ? null : key);
    const releaseKey = `${repo}@${version ?? key}`;
    if (byRelease.has(releaseKey)) continue; // listed newest first: keep the newest stage
    if (!envCache.has(repo)) envCache.set(repo, await environmentVersions(environments, repo));
    byRelease.set(releaseKey, {
      repo,
      version,
      commit: status?.commit ?? (stage === 'main-commit' ? key : null),
      stage: status?.stage ?? stage,
      state: status?.state ?? wf.status.name.toLowerCase(),
      step: status?.step ?? '',
      awaitingDecision: status?.awaitingDecision === true,
      workflowId: wf.workflowId,
      environments: envCache.get(repo)!,
    });
    const waiting = status?.state === 'running' ? waitingForOf(staging, wf.workflowId) : undefined;
    if (waiting) byRelease.get(releaseKey)!.waitingFor = waiting;
  }
  return [...byRelease.values()];
}

async function mapConcurrently<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
  return results;
}

/** `stage:owner/name:key` (the repository may itself hold no colon). */
function splitId(id: string): [string, string, string] {
  const first = id.indexOf(':');
  const last = id.lastIndexOf(':');
  return [id.slice(0, first), id.slice(first + 1, last), id.slice(last + 1)];
}

async function environmentVersions(
  environments: LocalEnvironments,
  repo: string,
): Promise<ReleaseEntry['environments']> {
  const read = async (env: string) => {
    try {
      return (await environments.state(environmentKey(repo, env))).current?.version ?? null;
    } catch {
      return null;
    }
  };
  return { dev: await read('dev'), staging: await read('staging'), production: await read('production') };
}

function renderRelease(r: ReleaseEntry): string {
  const what = r.version ?? r.commit?.slice(0, 12) ?? '?';
  const decision = r.awaitingDecision
    ? '  AWAITING DECISION'
    : r.waitingFor
      ? `  WAITING: ${r.waitingFor.resource} is ${r.waitingFor.mode}${r.waitingFor.incident ? ` for ${r.waitingFor.incident}` : ''} (by ${r.waitingFor.by} since ${r.waitingFor.since})`
      : '';
  const envs = `dev=${r.environments.dev?.slice(0, 12) ?? '-'} staging=${r.environments.staging ?? '-'} production=${r.environments.production ?? '-'}`;
  return `${r.repo} ${what}  ${r.stage}: ${r.state}${r.step ? ` (${r.step})` : ''}${decision}\n    ${envs}\n    workflow ${r.workflowId}`;
}

/** `--limit`: a whole number of releases; anything else is refused before Temporal is asked. */
function parseLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 1000)
    throw new InvalidArgumentError(`expected a whole number from 1 to 1000, got ${JSON.stringify(value)}`);
  return n;
}
