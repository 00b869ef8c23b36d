/**
 * Every release at a glance: repository, version, stage, state, whether a decision is awaited,
 * and the version running in each environment.
 *
 *   release-flow status [--json] [--limit N]
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { Client } from '@temporalio/client';
import { environmentKey } from '../activities/deploy';
import { environmentsOf } from '../composition/environment-reads';
import type { Config } from '../config/schema';
import type { Environments } from '../ports/environments';
import { listRuns, readQuery, readStatus } from '../starter';
import type { AnyPipelineStatus as PipelineStatus } from '../workflows/pipeline-status';
import { lockWorkflowId, statusQuery as lockStatusQuery, type LockStatus } from '../workflows/lock/messages';
import type { DocumentProgress, HotfixStatus } from '../workflows/production/messages';
import { closedStatusCacheFile, openClosedStatusCache } from './closed-status-cache';
import type { CliContext } from './context';
import { withTemporalClient } from './temporal-client';

interface GlobalOptions {
  config?: string;
}

export function registerStatusCommand(program: Command, ctx: CliContext): void {
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
  /**
   * After an emergency: its incident, and its ticket and page (`pending` with the last error
   * while the ticket system is away).
   */
  hotfix?: {
    id: string;
    state: string;
    ticket?: DocumentProgress;
    wiki?: DocumentProgress;
  };
}

export interface WaitingFor {
  resource: string;
  mode: string;
  /** The incident the mode was switched for (`HOT-1`), or null when the reason names none. */
  incident: string | null;
  /** Every open incident holding hotfix-only mode (`["HOT-1", "HOT-2"]`), oldest first. */
  incidents: string[];
  /** ISO: since the release waited and the mode held, whichever is later. */
  since: string;
  by: string;
}

/** What a queued, non-hotfix request waits for while the lock is hotfix-only. */
export function waitingForOf(lock: LockStatus | undefined, workflowId: string): WaitingFor | undefined {
  if (!lock || lock.mode.mode !== 'hotfixOnly') return undefined;
  const queued = lock.queue.find((q) => q.workflowId === workflowId);
  if (!queued || queued.priority === 'hotfix') return undefined;
  const holds = (lock.incidents ?? []).map((h) => h.id);
  const incident = holds[0] ?? /\b(HOT-\d+)\b/.exec(lock.mode.reason)?.[1] ?? null;
  const since =
    Date.parse(queued.waitingSince) > Date.parse(lock.mode.since) ? queued.waitingSince : lock.mode.since;
  return {
    resource: lock.resource,
    mode: lock.mode.mode,
    incident,
    incidents: holds.length ? holds : incident ? [incident] : [],
    since,
    by: lock.mode.by,
  };
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
  const environments = environmentsOf(config);
  const envCache = new Map<string, ReleaseEntry['environments']>();
  const staging = await readQuery(client, lockWorkflowId('staging'), lockStatusQuery).catch(() => undefined);
  // A release has at most one run per stage: this many runs always hold `limit` releases.
  const listed = await listRuns(client, query, limit * TYPES.length);
  const cache = await openClosedStatusCache<PipelineStatus>(closedStatusCacheFile(config.stateDir));
  // Each query may replay a closed run on a worker: ask them side by side, not one after another.
  const statuses = await mapConcurrently(listed, 8, async (wf) => {
    const closed = wf.status.name !== 'RUNNING';
    const known = closed ? cache.get(wf.runId) : undefined;
    if (known) return known;
    const status = await readStatus(client, wf.workflowId, wf.runId).catch(() => undefined);
    if (closed && status) cache.set(wf.runId, status);
    return status;
  });
  await cache.save(listed.map((wf) => wf.runId));
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
    const hotfix = (status as { hotfix?: HotfixStatus } | undefined)?.hotfix;
    if (hotfix) {
      byRelease.get(releaseKey)!.hotfix = {
        id: hotfix.id,
        state: hotfix.state,
        ...(hotfix.ticket ? { ticket: hotfix.ticket } : {}),
        ...(hotfix.wiki ? { wiki: hotfix.wiki } : {}),
      };
    }
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
  environments: Environments,
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
      ? `  WAITING: ${r.waitingFor.resource} is ${r.waitingFor.mode}${r.waitingFor.incidents.length ? ` for ${r.waitingFor.incidents.join(', ')}` : ''} (by ${r.waitingFor.by} since ${r.waitingFor.since})`
      : '';
  const pending = [
    ['ticket', r.hotfix?.ticket],
    ['page', r.hotfix?.wiki],
  ]
    .filter(([, p]) => p && typeof p === 'object' && p.state !== 'done')
    .map(([what, p]) => {
      const d = p as DocumentProgress;
      return `\n    ${r.hotfix!.id} ${what as string} ${d.state} after ${d.attempts} attempt(s)${d.lastError ? `: ${d.lastError}` : ''}`;
    })
    .join('');
  const envs = `dev=${r.environments.dev?.slice(0, 12) ?? '-'} staging=${r.environments.staging ?? '-'} production=${r.environments.production ?? '-'}`;
  return `${r.repo} ${what}  ${r.stage}: ${r.state}${r.step ? ` (${r.step})` : ''}${decision}\n    ${envs}\n    workflow ${r.workflowId}${pending}`;
}

/** `--limit`: a whole number of releases; anything else is refused before Temporal is asked. */
function parseLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 1000)
    throw new InvalidArgumentError(`expected a whole number from 1 to 1000, got ${JSON.stringify(value)}`);
  return n;
}
