/**
 * The hotfix flow's commands (docs/pipelines-and-decisions.md "Hotfix flow") and what an incident needs to see:
 *
 *   release-flow start hotfix --repo R --branch HOT-<n> [--sha SHA]
 *   release-flow hotfix status [HOT-<n>] [--json]
 *   release-flow environments [--json]
 *
 * Incidents and environments are read from this machine's state directory (the local adapters
 * the worker writes), so these commands run where the worker does.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { environmentKey } from '../activities/deploy';
import { environmentsOf } from '../composition/environment-reads';
import { LocalIncidents } from '../adapters/local/local-incidents';
import { LocalGitRepository } from '../adapters/local/git-repository';
import { loadConfig } from '../config/load';
import type { Config } from '../config/schema';
import { UserError } from '../common/errors';
import type { IncidentRecord } from '../ports/incidents';
import { startHotfix } from '../starter';
import { HOTFIX_BRANCH_PATTERN } from '../workflows/hotfix/messages';
import { repositoryOf } from './configured-repository';
import type { CliContext } from './context';
import { withTemporalClient } from './temporal-client';

/** One incident as `hotfix status` shows it (the field list of docs/pipelines-and-decisions.md "Hotfix flow"). */
export interface HotfixStatusEntry {
  id: string;
  repository: string;
  branch: string;
  state: IncidentRecord['state'];
  brokenVersion: string;
  decision: IncidentRecord['decision'];
  hotfixVersions: string[];
  pullRequest: { number: number; url: string } | null;
  openedAt: string;
  closedAt: string | null;
}

export interface EnvironmentEntry {
  repository: string;
  env: string;
  running: string | null;
  lastGood: string | null;
  bad: string[];
}

const ENVIRONMENTS = ['dev', 'staging', 'production'] as const;

function entryOf(r: IncidentRecord): HotfixStatusEntry {
  return {
    id: r.id,
    repository: r.repository,
    branch: r.branch,
    state: r.state,
    brokenVersion: r.brokenVersion,
    decision: r.decision,
    hotfixVersions: r.hotfixVersions,
    pullRequest: r.pullRequest,
    openedAt: r.openedAt,
    closedAt: r.closedAt,
  };
}

function renderIncident(e: HotfixStatusEntry): string {
  return [
    `${e.id} ${e.repository}: ${e.state}`,
    `    broken ${e.brokenVersion}; ${e.decision.name} by ${e.decision.by} at ${e.decision.at}${e.decision.reason ? ` (${e.decision.reason})` : ''}`,
    `    hotfix versions: ${e.hotfixVersions.join(', ') || 'none yet'}; branch ${e.branch}`,
    `    pull request: ${e.pullRequest ? `#${e.pullRequest.number} ${e.pullRequest.url}` : 'none'}`,
    `    opened ${e.openedAt}${e.closedAt ? `, closed ${e.closedAt}` : ''}`,
  ].join('\n');
}

/** Per repository and environment: what runs, the last good version, the versions marked bad. */
export async function environmentEntries(config: Readonly<Config>): Promise<EnvironmentEntry[]> {
  const environments = environmentsOf(config);
  const entries: EnvironmentEntry[] = [];
  for (const repo of config.repositories) {
    for (const env of ENVIRONMENTS) {
      const state = await environments.state(environmentKey(repo.name, env));
      entries.push({
        repository: repo.name,
        env,
        running: state.current?.version ?? null,
        lastGood: state.lastGood?.version ?? null,
        bad: (state.bad ?? []).map((b) => b.version),
      });
    }
  }
  return entries;
}

export function registerHotfixCommands(program: Command, ctx: CliContext): void {
  const start =
    program.commands.find((c) => c.name() === 'start') ??
    program.command('start').description('start a pipeline stage by hand');
  start
    .command('hotfix')
    .description('the hotfix pipeline for the head of a HOT-<n> branch of an open incident')
    .requiredOption('--repo <name>', 'configured repository')
    .requiredOption('--branch <HOT-n>', 'the incident branch, e.g. HOT-1')
    .option('--sha <commit>', 'the commit (default: the head of the branch in the local repository)')
    .option('--config <file>', 'configuration file')
    .option('--json', 'print JSON')
    .action(async (opts: { repo: string; branch: string; sha?: string; json?: boolean; config?: string }) => {
      if (!HOTFIX_BRANCH_PATTERN.test(opts.branch)) {
        throw new UserError(
          'NOT_A_HOTFIX_BRANCH',
          `${opts.branch} is not a hotfix branch`,
          'pass the incident branch an emergency created, such as HOT-1',
        );
      }
      await withTemporalClient({ configFile: opts.config }, async ({ client, config }) => {
        const repo = repositoryOf(config, opts.repo);
        let commit = opts.sha;
        if (!commit || !/^[0-9a-f]{40}$/.test(commit)) {
          if (!repo.path) {
            throw new UserError(
              'COMMIT_UNKNOWN',
              `cannot resolve ${commit ?? opts.branch}: repository ${repo.name} has no local path`,
              'pass the full commit hash with --sha',
            );
          }
          const git = await LocalGitRepository.open(repo.path);
          commit = await git.resolveCommit(commit ?? `refs/heads/${opts.branch}`);
        }
        const result = await startHotfix(
          client,
          { repository: repo.name, branch: opts.branch, commit },
          { taskQueue: config.temporal.taskQueue },
        );
        if (opts.json) ctx.out(JSON.stringify(result));
        else
          ctx.out(
            `${result.started ? 'started' : 'already started'}: hotfix ${repo.name} ${opts.branch} ${commit.slice(0, 12)} (workflow ${result.workflowId})`,
          );
      });
    });

  program
    .command('hotfix')
    .description('incidents of emergencies and their hotfixes')
    .command('status [id]')
    .description('every incident (or one, by HOT-<n>): state, broken version, decision, hotfix versions, PR')
    .option('--json', 'print JSON (an array; one object when an id is given)')
    .option('--config <file>', 'configuration file')
    .action(async (id: string | undefined, opts: { json?: boolean; config?: string }) => {
      const { config } = loadConfig({ file: opts.config });
      const all = (await new LocalIncidents(path.resolve(config.stateDir)).list()).map(entryOf);
      if (id !== undefined) {
        const one = all.filter((e) => e.id === id);
        if (one.length === 0) {
          throw new UserError(
            'NO_SUCH_INCIDENT',
            `no incident ${id}`,
            `list them with \`release-flow hotfix status\`${all.length ? ` (known: ${all.map((e) => e.id).join(', ')})` : ''}`,
          );
        }
        // Incident ids are per tracker: the newest of that id when two repositories share it.
        const entry = one.at(-1)!;
        ctx.out(opts.json ? JSON.stringify(entry, null, 2) : renderIncident(entry));
        return;
      }
      if (opts.json) ctx.out(JSON.stringify(all, null, 2));
      else if (!all.length) ctx.out('no incidents');
      else for (const e of all) ctx.out(renderIncident(e));
    });

  program
    .command('environments')
    .description(
      'per repository and environment: the running version, the last good one, the versions marked bad',
    )
    .option('--json', 'print JSON')
    .option('--config <file>', 'configuration file')
    .action(async (opts: { json?: boolean; config?: string }) => {
      const { config } = loadConfig({ file: opts.config });
      const entries = await environmentEntries(config);
      if (opts.json) {
        ctx.out(JSON.stringify(entries, null, 2));
        return;
      }
      if (!entries.length) ctx.out('no repositories configured');
      for (const e of entries) {
        ctx.out(
          `${e.repository} ${e.env}: running ${e.running ?? '-'}, last good ${e.lastGood ?? '-'}${e.bad.length ? `, bad ${e.bad.join(', ')}` : ''}`,
        );
      }
    });
}
