/**
 * What the board shows, read from Temporal: every release (its stages' status queries), the
 * staging lock's status query, incidents and decisions taken. Only queries the workflows
 * already answer are used, and fields beyond the ones named here are kept as they come, so a
 * workflow that reports more does not break the board.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { environmentKey } from '../../activities/deploy';
import { environmentsOf } from '../../composition/environment-reads';
import type { Environments } from '../../ports/environments';
import { listRuns, readQuery, readStatus } from '../../starter';
import { attemptPattern } from '../../adapters/local/worktree-command-runner';
import { workflowUrl } from '../../common/ui-links';
import {
  lockWorkflowId,
  statusQuery as lockStatusQuery,
  type LockStatus,
} from '../../workflows/lock/messages';
import { PipelineWorkflowTypes } from '../../workflows/shared/messages';
import type { AnyPipelineStatus as PipelineStatus } from '../../workflows/pipeline-status';
import { HOTFIX_WORKFLOW_TYPE } from '../../workflows/hotfix/messages';
import { LocalIncidents } from '../../adapters/local/local-incidents';
import type { IncidentRecord } from '../../ports/incidents';
import type { DecisionRecord } from '../../workflows/production/messages';
import type { DecisionJournal, JournalEntry } from './decision-journal';

export interface LogLink {
  label: string;
  url: string;
}

export interface BoardStage {
  stage: string;
  workflowId: string;
  runId: string;
  /** Temporal's view: RUNNING, COMPLETED, FAILED ... */
  execution: string;
  startedAt: string;
  closedAt?: string;
  /** The status query's answer; absent when no worker could answer. */
  status?: PipelineStatus & Record<string, unknown>;
  uiUrl?: string;
}

export interface BoardRelease {
  repository: string;
  version: string | null;
  commit: string | null;
  /** The newest stage reached and its state. */
  stage: string;
  state: string;
  awaitingDecision: boolean;
  /** Oldest stage first. */
  stages: BoardStage[];
  logs: LogLink[];
  startedAt: string;
}

export interface BoardRepository {
  name: string;
  environments: { dev: string | null; staging: string | null; production: string | null };
  releases: BoardRelease[];
}

export interface BoardDecision extends DecisionRecord {
  repository: string;
  version: string | null;
  workflowId: string;
  /** Where it was taken: board, Slack, a signal (Temporal UI or CLI) or the update (CLI or a client). */
  from: string;
}

export interface BoardIncident {
  id: string;
  kind: 'hotfix' | 'rollback' | 'incident';
  repository: string;
  version: string | null;
  workflowId: string;
  state: string;
  ticketUrl?: string;
  wikiUrl?: string;
  branch?: string;
  hotfix?: string;
  /** The hotfix versions given out so far (the incident record), oldest first. */
  hotfixVersions?: string[];
  /** The pull request from the hotfix branch back into the default branch, once opened. */
  pullRequest?: { number: number; url: string };
  /** The ticket and page while they are not filed yet: `pending` (or `failed`) with the last error. */
  documents?: { what: 'ticket' | 'page'; state: string; attempts: number; lastError?: string }[];
  decision?: DecisionRecord;
}

export interface BoardSnapshot {
  at: string;
  repositories: BoardRepository[];
  lock: (LockStatus & Record<string, unknown>) | null;
  lockError?: string;
  incidents: BoardIncident[];
  decisions: BoardDecision[];
  /** Set when Temporal could not be read at all. */
  error?: string;
}

export interface BoardStateOptions {
  client: () => Client | undefined;
  namespace: () => string;
  uiUrl?: () => string | undefined;
  /** Configured repository names: listed even before their first release. */
  repositories: string[];
  stateDir: string;
  journal: DecisionJournal;
  /** Link to a build log the runner wrote (docs/pipelines-and-decisions.md "The pull-request gate (stage 0)"), or undefined. */
  logLink?: (logPath: string) => string | undefined;
  /** Newest workflows read per snapshot (default 150). */
  limit?: number;
}

// A hotfix pipeline is the main-commit stage of a hotfix release (docs/pipelines-and-decisions.md "Hotfix flow").
const TYPES = [...Object.values(PipelineWorkflowTypes), HOTFIX_WORKFLOW_TYPE];
const STAGE_ORDER = ['hotfix', 'main-commit', 'tag', 'production'];

/** `stage:owner/name:key` (the repository may hold no colon). */
function splitId(id: string): [string, string, string] {
  const first = id.indexOf(':');
  const last = id.lastIndexOf(':');
  return [id.slice(0, first), id.slice(first + 1, last), id.slice(last + 1)];
}

function iso(d: Date | undefined): string | undefined {
  return d ? d.toISOString() : undefined;
}

export class BoardState {
  // Closed runs never change: their status is read once.
  private readonly closed = new Map<string, PipelineStatus & Record<string, unknown>>();

  constructor(private readonly opts: BoardStateOptions) {}

  async snapshot(): Promise<BoardSnapshot> {
    const client = this.opts.client();
    const at = new Date().toISOString();
    const empty = this.opts.repositories.map((name) => ({
      name,
      environments: { dev: null, staging: null, production: null },
      releases: [],
    }));
    if (!client) {
      return {
        at,
        repositories: empty,
        lock: null,
        incidents: [],
        decisions: [],
        error: 'Temporal is not connected yet',
      };
    }
    let infos: WorkflowExecutionInfo[];
    try {
      infos = await this.list(client);
    } catch (err) {
      return {
        at,
        repositories: empty,
        lock: null,
        incidents: [],
        decisions: [],
        error: `Temporal could not be read: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
      };
    }
    const stages = await mapLimit(infos, 8, (info) => this.stageOf(client, info));
    const [lock, journal] = await Promise.all([this.lock(client), this.opts.journal.entries()]);
    const releases = groupReleases(stages);
    const repositories = await this.repositories(releases);
    return {
      at,
      repositories,
      ...lock,
      incidents: withRecords(incidentsOf(releases), await this.incidentRecords()),
      decisions: decisionsOf(releases, journal),
    };
  }

  /** The incident records of this machine's state directory; none when they cannot be read. */
  private async incidentRecords(): Promise<IncidentRecord[]> {
    try {
      return await new LocalIncidents(this.opts.stateDir).list();
    } catch {
      return [];
    }
  }

  private async list(client: Client): Promise<WorkflowExecutionInfo[]> {
    const query = `WorkflowType IN (${TYPES.map((t) => `'${t}'`).join(', ')})`;
    return await listRuns(client, query, this.opts.limit ?? 150);
  }

  private async stageOf(
    client: Client,
    info: WorkflowExecutionInfo,
  ): Promise<BoardStage & { repository: string }> {
    const [stageFromId, repository] = splitId(info.workflowId);
    const open = info.status.name === 'RUNNING';
    let status = open ? undefined : this.closed.get(info.runId);
    if (!status) {
      status = await readStatus(client, info.workflowId, info.runId)
        .then((s) => s as (PipelineStatus & Record<string, unknown>) | undefined)
        .catch(() => undefined);
      if (status && !open) {
        this.closed.set(info.runId, status);
        // Bounded: runs older than the newest listed ones are not shown any more.
        if (this.closed.size > 4 * (this.opts.limit ?? 150))
          this.closed.delete(this.closed.keys().next().value!);
      }
    }
    const ui = this.opts.uiUrl?.();
    return {
      repository: status?.repository ?? repository,
      stage: status?.stage ?? stageFromId,
      workflowId: info.workflowId,
      runId: info.runId,
      execution: info.status.name,
      startedAt: info.startTime.toISOString(),
      ...(info.closeTime ? { closedAt: iso(info.closeTime) } : {}),
      ...(status ? { status } : {}),
      ...(ui
        ? {
            uiUrl: workflowUrl({
              uiUrl: ui,
              namespace: this.opts.namespace(),
              workflowId: info.workflowId,
              runId: info.runId,
            }),
          }
        : {}),
    };
  }

  private async lock(client: Client): Promise<Pick<BoardSnapshot, 'lock' | 'lockError'>> {
    try {
      const status = await readQuery(client, lockWorkflowId('staging'), lockStatusQuery);
      return { lock: (status as (LockStatus & Record<string, unknown>) | undefined) ?? null };
    } catch (err) {
      return {
        lock: null,
        lockError: `the staging lock could not be read: ${(err as Error).message.split('\n')[0]}`,
      };
    }
  }

  private async repositories(releases: BoardRelease[]): Promise<BoardRepository[]> {
    const names = [...new Set([...this.opts.repositories, ...releases.map((r) => r.repository)])];
    const environments = environmentsOf({ stateDir: this.opts.stateDir });
    const runs = await readdir(path.join(this.opts.stateDir, 'work', 'runs')).catch(() => [] as string[]);
    const out: BoardRepository[] = [];
    for (const name of names) {
      const own = releases.filter((r) => r.repository === name);
      for (const release of own) release.logs = await this.logsOf(release, runs);
      out.push({ name, environments: await this.environmentsOf(environments, name, own), releases: own });
    }
    return out;
  }

  private async environmentsOf(
    environments: Environments,
    repository: string,
    releases: BoardRelease[],
  ): Promise<BoardRepository['environments']> {
    const read = async (env: 'dev' | 'staging' | 'production') => {
      const local = await environments
        .state(environmentKey(repository, env))
        .then((s) => s.current?.version ?? null)
        .catch(() => null);
      if (local) return local;
      // Deployed elsewhere (a deploy command): the newest pipeline that says so.
      for (const r of releases) {
        for (const s of [...r.stages].reverse()) {
          const v = s.status?.environments?.[env];
          if (v) return v;
        }
      }
      return null;
    };
    return { dev: await read('dev'), staging: await read('staging'), production: await read('production') };
  }

  private async logsOf(release: BoardRelease, runs: string[]): Promise<LogLink[]> {
    const link = this.opts.logLink;
    const links: LogLink[] = [];
    const commit = release.commit;
    if (link && commit) {
      for (const run of runs.filter((r) => r.includes(commit)).sort()) {
        const dir = path.join(this.opts.stateDir, 'work', 'runs', run);
        const attempts = (await readdir(dir).catch(() => [] as string[])).filter((a) =>
          attemptPattern.test(a),
        );
        const newest = attempts.sort((a, b) => Number(a.slice(8)) - Number(b.slice(8))).pop();
        const url = newest ? link(path.join(dir, newest, 'run.log')) : undefined;
        const what = run
          .slice(run.indexOf(commit) + commit.length)
          .replace(/^_+/, '')
          .replace(/-[0-9a-f]{12}$/, '');
        if (url) links.push({ label: what.replace(/_/g, ' ') || 'run', url });
      }
    }
    for (const s of release.stages) {
      const log = (s.status?.failure as { log?: unknown } | undefined)?.log;
      const url = typeof log === 'string' && link ? link(log) : undefined;
      if (url && !links.some((l) => l.url === url)) links.push({ label: `${s.stage} failure`, url });
    }
    return links;
  }
}

function groupReleases(stages: (BoardStage & { repository: string })[]): BoardRelease[] {
  // Pair each main-commit run with the tag cut from it, so one release is one row.
  const versionOfCommit = new Map<string, string>();
  for (const s of stages) {
    if (s.status?.commit && s.status.version)
      versionOfCommit.set(`${s.repository}@${s.status.commit}`, s.status.version);
  }
  const byKey = new Map<string, BoardRelease>();
  for (const s of stages) {
    const [, , key] = splitId(s.workflowId);
    const commit = s.status?.commit ?? (s.stage === 'main-commit' ? key : null);
    const version =
      s.status?.version ??
      (s.stage === 'main-commit'
        ? commit
          ? versionOfCommit.get(`${s.repository}@${commit}`)
          : undefined
        : key) ??
      null;
    const releaseKey = `${s.repository}@${version ?? commit ?? key}`;
    let release = byKey.get(releaseKey);
    if (!release) {
      release = {
        repository: s.repository,
        version,
        commit,
        stage: s.stage,
        state: '',
        awaitingDecision: false,
        stages: [],
        logs: [],
        startedAt: s.startedAt,
      };
      byKey.set(releaseKey, release);
    }
    // Listed newest first: a re-run of a stage keeps its newest run only.
    if (release.stages.some((x) => x.stage === s.stage)) continue;
    release.stages.push(s);
    release.commit ??= commit;
    if (s.startedAt < release.startedAt) release.startedAt = s.startedAt;
  }
  for (const r of byKey.values()) {
    r.stages.sort((a, b) => STAGE_ORDER.indexOf(a.stage) - STAGE_ORDER.indexOf(b.stage));
    const newest = r.stages[r.stages.length - 1]!;
    r.stage = newest.stage;
    r.state = newest.status?.state ?? newest.execution.toLowerCase();
    r.awaitingDecision = r.stages.some((s) => s.status?.awaitingDecision === true);
  }
  return [...byKey.values()].sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1));
}

function production(r: BoardRelease): BoardStage | undefined {
  return r.stages.find((s) => s.stage === 'production');
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value : undefined;
}

function incidentsOf(releases: BoardRelease[]): BoardIncident[] {
  const out: BoardIncident[] = [];
  for (const r of releases) {
    const p = production(r);
    const status = p?.status;
    if (!p || !status) continue;
    const hotfix = status.hotfix as Record<string, unknown> | undefined;
    const retro = status.retrospective as Record<string, unknown> | undefined;
    // A richer incident record, when the workflow reports one.
    const incident = (status as Record<string, unknown>).incident as Record<string, unknown> | undefined;
    const id = text(incident?.id) ?? text(hotfix?.id) ?? text(retro?.id);
    if (!id) continue;
    const hotfixState =
      text(hotfix?.state) ?? text((incident?.hotfix as Record<string, unknown> | undefined)?.state);
    const hotfixRef =
      text((incident?.hotfix as Record<string, unknown> | undefined)?.version) ??
      text((incident?.hotfix as Record<string, unknown> | undefined)?.workflowId);
    out.push({
      id,
      kind: id.startsWith('HOT-') ? 'hotfix' : id.startsWith('ROLLBACK-') ? 'rollback' : 'incident',
      repository: r.repository,
      version: r.version,
      workflowId: p.workflowId,
      state: text(incident?.state) ?? status.state,
      ...optional('ticketUrl', text(incident?.ticketUrl) ?? text(hotfix?.ticketUrl)),
      ...optional('wikiUrl', text(incident?.wikiUrl) ?? text(hotfix?.wikiUrl) ?? text(retro?.url)),
      ...optional('branch', text(incident?.branch) ?? text(hotfix?.branch)),
      ...optional('hotfix', [hotfixRef, hotfixState].filter(Boolean).join(' ') || undefined),
      ...(documentsOf(hotfix) ? { documents: documentsOf(hotfix)! } : {}),
      ...(status.decisions?.length ? { decision: status.decisions[status.decisions.length - 1]! } : {}),
    });
  }
  return out;
}

/** Hotfix versions and the pull request back come from the incident's record. */
function withRecords(incidents: BoardIncident[], records: IncidentRecord[]): BoardIncident[] {
  return incidents.map((i) => {
    const r = records.find((x) => x.id === i.id && x.repository === i.repository);
    if (!r) return i;
    return {
      ...i,
      ...(r.hotfixVersions.length ? { hotfixVersions: [...r.hotfixVersions] } : {}),
      ...(r.pullRequest ? { pullRequest: r.pullRequest } : {}),
      ...(!i.ticketUrl && r.ticketUrl ? { ticketUrl: r.ticketUrl } : {}),
      ...(!i.wikiUrl && r.wikiUrl ? { wikiUrl: r.wikiUrl } : {}),
    };
  });
}

function documentsOf(
  hotfix: Record<string, unknown> | undefined,
): NonNullable<BoardIncident['documents']> | undefined {
  const out: NonNullable<BoardIncident['documents']> = [];
  for (const [what, key] of [
    ['ticket', 'ticket'],
    ['page', 'wiki'],
  ] as const) {
    const p = hotfix?.[key] as Record<string, unknown> | undefined;
    const state = text(p?.state);
    if (!p || !state || state === 'done') continue;
    out.push({
      what,
      state,
      attempts: typeof p.attempts === 'number' ? p.attempts : 0,
      ...(text(p.lastError) ? { lastError: text(p.lastError)! } : {}),
    });
  }
  return out.length ? out : undefined;
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value ? ({ [key]: value } as Record<K, string>) : {};
}

function decisionsOf(releases: BoardRelease[], journal: JournalEntry[]): BoardDecision[] {
  const out: BoardDecision[] = [];
  for (const r of releases) {
    const p = production(r);
    for (const d of p?.status?.decisions ?? []) {
      const entry = journal.find(
        (e) => e.workflowId === p!.workflowId && e.decision === d.decision && e.by === d.by,
      );
      out.push({
        ...d,
        repository: r.repository,
        version: r.version,
        workflowId: p!.workflowId,
        from: entry
          ? entry.source === 'slack'
            ? 'Slack'
            : 'the board'
          : d.via === 'signal'
            ? 'a signal (Temporal UI or CLI)'
            : 'the decide update (CLI or a client)',
      });
    }
  }
  return out.sort((a, b) => (a.at < b.at ? 1 : -1));
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}
