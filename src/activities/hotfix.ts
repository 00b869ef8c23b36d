/**
 * The hotfix flow's activities (docs/pipelines-and-decisions.md "Hotfix flow"): record an emergency's incident, plan a
 * hotfix push (a patch only; the next free patch on the deployed line), tell the pipelines
 * whether a version is an open incident's hotfix, and close the incident once its hotfix is
 * healthy (the pull request back, the ticket closed and the wiki page updated with the timeline).
 * Each is idempotent by its inputs: a retry finds the record, tag, pull request or update it
 * made before.
 */
import { ApplicationFailure } from '@temporalio/common';
import { loadCommitParser } from '../adapters/conventional-commits/commit-parser';
import type { RepositoryConfig } from '../config/schema';
import { analyzeCommits } from '../domain/commit-analysis';
import { nonPatchCommit, patchCandidates } from '../domain/hotfix-rules';
import type { GitPort } from '../ports/git';
import type { GitRefs } from '../ports/git-refs';
import type { Alerts } from '../ports/alerts';
import type { IncidentRecord, Incidents } from '../ports/incidents';
import type { Tickets } from '../ports/tickets';
import type { Wiki } from '../ports/wiki';
import type { PullRequestPorts } from './pr-gate';
import { configured, settled } from './incidents';
import { FailureTypes, isDefinitiveFailure } from '../domain/failures';

export interface HotfixPorts {
  incidents: Incidents;
  repository: (name: string) => RepositoryConfig | undefined;
  git: (repository: RepositoryConfig) => Promise<GitPort & GitRefs>;
  tickets: (repository: RepositoryConfig) => Promise<Tickets>;
  wiki: (repository: RepositoryConfig) => Promise<Wiki>;
  pullRequestPorts?: (repository: string) => Promise<PullRequestPorts>;
  /** Where the emergency paged operations: its PagerDuty incident is resolved once the hotfix is healthy. */
  alerts?: Alerts;
}

export interface HotfixPlan {
  id: string;
  version: string;
  brokenVersion: string;
  /** Commits on the branch since the broken version's tag. */
  commitCount: number;
}

/** What the pipelines need to know of an incident (bounded, for workflow history). */
export interface HotfixRef {
  id: string;
  state: IncidentRecord['state'];
  brokenVersion: string;
  branch: string;
  ticketUrl: string;
  wikiUrl: string;
}

export interface CloseIncidentResult {
  pullRequest: { number: number; url: string } | null;
  /** Why no pull request was opened, when none was. */
  pullRequestNote: string;
  ticketClosed: boolean;
  wikiUpdated: boolean;
}

const MAX_CANDIDATES = 100;

/**
 * The ticket's part of closing an incident. A ticket that was never filed (the tracker refused
 * it for good during the emergency) does not keep the incident open: the close says so instead.
 */
async function ticketStory(work: () => Promise<{ closed: boolean }>): Promise<{ closed: boolean }> {
  try {
    return await work();
  } catch (err) {
    const cause =
      err instanceof ApplicationFailure ? err.type : isDefinitiveFailure(err) ? err.type : undefined;
    if (cause === FailureTypes.documentNotFound) return { closed: false };
    throw err;
  }
}

function refOf(record: IncidentRecord): HotfixRef {
  return {
    id: record.id,
    state: record.state,
    brokenVersion: record.brokenVersion,
    branch: record.branch,
    ticketUrl: record.ticketUrl ?? '',
    wikiUrl: record.wikiUrl ?? '',
  };
}

export function createHotfixActivities(ports: HotfixPorts) {
  return {
    /**
     * Numbers and records an emergency's incident before any ticket exists (docs/pipelines-and-decisions.md "Hotfix
     * flow": the emergency never waits on the ticket system); a retry returns the same record.
     */
    async reserveIncident(input: {
      key: string;
      repository: string;
      brokenVersion: string;
      decision: { name: string; by: string; at: string; reason?: string };
    }): Promise<HotfixRef> {
      const record = await settled(() =>
        ports.incidents.reserve(input.key, {
          repository: input.repository,
          brokenVersion: input.brokenVersion,
          decision: input.decision,
          openedAt: input.decision.at,
        }),
      );
      return refOf(record);
    },

    /** The ticket or page of an incident exists now: its record links it. */
    async linkIncidentDocuments(input: {
      repository: string;
      id: string;
      ticketUrl?: string;
      wikiUrl?: string;
    }): Promise<HotfixRef> {
      const record = await settled(() =>
        ports.incidents.update(input.repository, input.id, (r) => ({
          ...r,
          ...(input.ticketUrl ? { ticketUrl: input.ticketUrl } : {}),
          ...(input.wikiUrl ? { wikiUrl: input.wikiUrl } : {}),
        })),
      );
      return refOf(record);
    },

    /**
     * One step of an incident told on its ticket (declared, tagged, staged, in production, the
     * pull request, closed), once per key. Best effort: a tracker that is away or a ticket not
     * opened yet answers `added: false` with the reason, and the pipeline goes on.
     */
    async commentOnIncident(input: {
      repository: string;
      id: string;
      key: string;
      markdown: string;
    }): Promise<{ added: boolean; note?: string }> {
      const repo = configured(ports, input.repository);
      try {
        return await (
          await ports.tickets(repo)
        ).comment({
          id: input.id,
          key: input.key,
          markdown: input.markdown,
        });
      } catch (err) {
        return { added: false, note: err instanceof Error ? err.message.split('\n')[0] : String(err) };
      }
    },

    /** Records an emergency's incident (open); a retry returns the first record. */
    async recordIncident(input: {
      id: string;
      repository: string;
      brokenVersion: string;
      decision: { name: string; by: string; at: string; reason?: string };
      ticketUrl: string;
      wikiUrl: string;
    }): Promise<HotfixRef> {
      const record = await settled(() =>
        ports.incidents.open({
          id: input.id,
          repository: input.repository,
          branch: input.id,
          brokenVersion: input.brokenVersion,
          decision: input.decision,
          openedAt: input.decision.at,
          ticketUrl: input.ticketUrl,
          wikiUrl: input.wikiUrl,
        }),
      );
      return refOf(record);
    },

    /** The incident `id` of `repository` in any state, or null when there is none. */
    async incidentOfBranch(input: { repository: string; id: string }): Promise<HotfixRef | null> {
      const found = await ports.incidents.get(input.repository, input.id);
      return found ? refOf(found) : null;
    },

    /** The open (or releasing) incident whose hotfix `version` is, or null. */
    async hotfixOfVersion(input: { repository: string; version: string }): Promise<HotfixRef | null> {
      const all = await ports.incidents.list();
      const found = all.find(
        (i) =>
          i.repository === input.repository &&
          i.state !== 'closed' &&
          i.hotfixVersions.includes(input.version),
      );
      return found ? refOf(found) : null;
    },

    /**
     * Plans a push to `HOT-<n>`: the incident must be open, every commit since the broken
     * version's tag a patch (a feat or breaking commit fails, named), and the version the next
     * free patch on the broken version's line. The same commit planned again gets its version again.
     */
    async planHotfix(input: { repository: string; id: string; commit: string }): Promise<HotfixPlan> {
      const incident = await ports.incidents.get(input.repository, input.id);
      if (!incident || incident.state === 'closed') {
        throw ApplicationFailure.nonRetryable(
          incident
            ? `${input.id} of ${input.repository} is closed: push fixes to main, or declare a new emergency`
            : `${input.id} is not an incident of ${input.repository}: hotfix branches come from an emergency decision`,
          'NoOpenIncident',
        );
      }
      const repo = configured(ports, input.repository);
      const git = await settled(() => ports.git(repo));
      const commits = await settled(() => git.commitsBetween(incident.brokenVersion, input.commit));
      const parse = await loadCommitParser(repo.preset);
      const problem = nonPatchCommit(analyzeCommits(commits, parse, repo.preset).commits);
      if (problem) throw ApplicationFailure.nonRetryable(problem.message, 'NotAPatch', problem);
      const earlier = incident.commits?.[input.commit];
      if (earlier) {
        return {
          id: input.id,
          version: earlier,
          brokenVersion: incident.brokenVersion,
          commitCount: commits.length,
        };
      }
      let version: string | undefined;
      for (const candidate of patchCandidates(incident.brokenVersion, MAX_CANDIDATES)) {
        if (incident.hotfixVersions.includes(candidate)) continue;
        const exists = await git.resolveCommit(`refs/tags/${candidate}`).then(
          () => true,
          () => false,
        );
        if (!exists) {
          version = candidate;
          break;
        }
      }
      if (!version) {
        throw ApplicationFailure.nonRetryable(
          `no free patch version after ${incident.brokenVersion} within ${MAX_CANDIDATES}`,
          'NoFreeVersion',
        );
      }
      const chosen = version;
      const updated = await settled(() =>
        ports.incidents.update(input.repository, input.id, (r) => {
          const already = r.commits?.[input.commit];
          if (already) return r;
          return {
            ...r,
            state: 'releasing',
            hotfixVersions: [...r.hotfixVersions, chosen],
            commits: { ...(r.commits ?? {}), [input.commit]: chosen },
          };
        }),
      );
      return {
        id: input.id,
        version: updated.commits?.[input.commit] ?? chosen,
        brokenVersion: incident.brokenVersion,
        commitCount: commits.length,
      };
    },

    /**
     * The hotfix `version` is healthy in production: a pull request from the branch into the
     * default branch (unless it already has the fix), the ticket closed and the wiki page
     * updated with the timeline, the incident closed.
     */
    async closeIncident(input: {
      repository: string;
      id: string;
      version: string;
      commit: string;
      healthyAt: string;
      workflowId: string;
    }): Promise<CloseIncidentResult> {
      const repo = configured(ports, input.repository);
      const incident = await ports.incidents.get(input.repository, input.id);
      if (!incident) {
        throw ApplicationFailure.nonRetryable(
          `no incident ${input.id} of ${input.repository}`,
          'NoOpenIncident',
        );
      }
      const git = await settled(() => ports.git(repo));
      const base = repo.defaultBranch;
      let pullRequest = incident.pullRequest;
      let pullRequestNote = pullRequest ? `#${pullRequest.number} was opened before` : '';
      if (!pullRequest) {
        const baseHead = await settled(() => git.resolveCommit(base));
        if (await settled(() => git.isAncestor(input.commit, baseHead))) {
          pullRequestNote = `${base} already contains ${input.commit.slice(0, 12)}`;
        } else {
          const pulls = ports.pullRequestPorts
            ? (await ports.pullRequestPorts(input.repository)).pullRequests
            : null;
          if (!pulls?.open) {
            pullRequestNote = `pull requests of ${input.repository} cannot be opened here`;
          } else {
            const opened = await settled(() =>
              pulls.open!({
                head: incident.branch,
                base,
                title: `fix(${input.id}): hotfix ${input.version} back into ${base}`,
                body: `The hotfix of ${input.id} (${input.repository} ${incident.brokenVersion} broke; ${input.version} is healthy in production). Merge it so ${base} has the fix.`,
              }),
            );
            pullRequest = { number: opened.number, url: opened.url };
            pullRequestNote = opened.created ? `opened #${opened.number}` : `#${opened.number} was open`;
          }
        }
        if (pullRequest) {
          const pr = pullRequest;
          await settled(() =>
            ports.incidents.update(input.repository, input.id, (r) => ({ ...r, pullRequest: pr })),
          );
        }
      }
      const d = incident.decision;
      const timeline = [
        `## Timeline of ${input.id}`,
        '',
        `- Broken release: ${input.repository} ${incident.brokenVersion}`,
        `- Decision: ${d.name} by ${d.by} at ${d.at}${d.reason ? ` (${d.reason})` : ''}`,
        `- Hotfix versions: ${incident.hotfixVersions.join(', ') || input.version}`,
        `- Healthy in production: ${input.version} at ${input.healthyAt}`,
        `- Pull request back into ${base}: ${pullRequest ? `#${pullRequest.number} ${pullRequest.url}` : pullRequestNote}`,
        `- Staging lock: back to normal mode`,
        `- Workflow: \`${input.workflowId}\``,
      ].join('\n');
      const ticket = await ticketStory(async () => {
        const tickets = await settled(() => ports.tickets(repo));
        // The story on the ticket, a step a comment (each once by its key), then the final update.
        await settled(() =>
          tickets.comment({
            id: input.id,
            key: `${input.id}/healthy/${input.version}`,
            markdown: `Hotfix **${input.version}** healthy in production at ${input.healthyAt}; staging no longer hotfix-only for ${input.id}.`,
          }),
        );
        await settled(() =>
          tickets.comment({
            id: input.id,
            key: `${input.id}/pull-request`,
            markdown: pullRequest
              ? `Pull request back into ${base}: [#${pullRequest.number}](${pullRequest.url})`
              : `No pull request back into ${base}: ${pullRequestNote}`,
          }),
        );
        const ticket = await settled(() =>
          tickets.close({ id: input.id, key: `${input.id}/closed`, markdown: timeline }),
        );
        return ticket;
      });
      const wiki = await settled(async () =>
        (await ports.wiki(repo)).append({ id: input.id, key: `${input.id}/timeline`, markdown: timeline }),
      );
      await settled(() =>
        ports.incidents.update(input.repository, input.id, (r) =>
          r.state === 'closed' ? r : { ...r, state: 'closed', closedAt: input.healthyAt },
        ),
      );
      await resolveIncidentPages(ports, input, incident);
      return { pullRequest, pullRequestNote, ticketClosed: ticket.closed, wikiUpdated: wiki.added };
    },
  };
}

/**
 * The emergency paged operations under the broken release's key, and an emergency declared on a
 * hotfix that broke again under that hotfix's: the healthy hotfix resolves each of them (the
 * healthy version's own page was resolved when it was marked good). Resolving a key that never
 * paged changes nothing, and a channel that is down is journaled, never thrown.
 */
async function resolveIncidentPages(
  ports: HotfixPorts,
  input: { repository: string; id: string; version: string },
  incident: IncidentRecord,
): Promise<void> {
  const versions = [incident.brokenVersion, ...incident.hotfixVersions].filter((v) => v !== input.version);
  for (const version of new Set(versions)) {
    await ports.alerts
      ?.resolveRelease?.({
        repository: input.repository,
        version,
        reason: `${input.id}: hotfix ${input.version} healthy in production`,
      })
      .catch(() => []);
  }
}
