/**
 * The composition root of the pipelines on one machine: config -> local adapters -> the ports
 * the pipeline activities take. Every adapter keeps its state under `stateDir`, so a restart
 * (or a SIGKILL) of the worker finds its earlier work and never repeats it.
 */
import path from 'node:path';
import type { PipelinePorts } from './activities/pipeline';
import { environmentKey } from './activities/deploy';
import type { GitHubRepositoryPorts } from './activities/pr-gate';
import { createGitHubClient, type GitHubClient } from './adapters/github/client';
import { GitHubCommitStatuses } from './adapters/github/github-commit-statuses';
import { GitHubPullRequests } from './adapters/github/github-pull-requests';
import { parseRepositoryRef } from './adapters/github/repository-ref';
import { AlertJournal } from './adapters/local/alert-journal';
import { FilesystemRegistry } from './adapters/local/filesystem-registry';
import { LocalGitRepository } from './adapters/local/git-repository';
import { LocalEnvironments, type DeployCommand } from './adapters/local/local-environments';
import { LocalMetricSource } from './adapters/local/local-metric-source';
import { MarkdownTickets } from './adapters/local/markdown-tickets';
import { MarkdownWiki } from './adapters/local/markdown-wiki';
import { WorktreeCommandRunner } from './adapters/local/worktree-command-runner';
import type { Config, RepositoryConfig } from './config/schema';
import { UserError } from './errors';
import type { FencedResource } from './ports/fenced-resource';

export interface LocalPipelineOptions {
  config: Readonly<Config>;
  /** Absolute state directory (config.stateDir resolved). */
  stateDir: string;
  /** The staging lock's fenced resource: staging writes must carry a current token. */
  fencedResource: FencedResource;
  uiUrl?: string;
  /** Where alerts are printed besides the journal (console by default). */
  printAlert?: (text: string) => void;
  /** Where GITHUB_TOKEN and GITHUB_API_URL are read (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * The GitHub ports of the PR gate, when `GITHUB_TOKEN` is set; otherwise none, and the gate's
 * activities say so. The token stays inside the one client built on first use.
 */
function githubPorts(
  env: NodeJS.ProcessEnv,
): ((repository: string) => Promise<GitHubRepositoryPorts>) | undefined {
  const token = env.GITHUB_TOKEN;
  if (!token) return undefined;
  const baseUrl = env.GITHUB_API_URL;
  let client: Promise<GitHubClient> | undefined;
  return async (repository) => {
    const ref = parseRepositoryRef(repository);
    client ??= createGitHubClient({ token, ...(baseUrl ? { baseUrl } : {}) });
    const github = await client.catch((err: unknown) => {
      client = undefined;
      throw err;
    });
    return {
      pullRequests: new GitHubPullRequests(github, ref),
      statuses: new GitHubCommitStatuses(github, ref),
    };
  };
}

const ENVIRONMENTS = ['dev', 'staging', 'production'] as const;

function repositoryPath(config: Readonly<Config>, name: string): string {
  const repo = config.repositories.find((r) => r.name === name);
  if (!repo?.path) {
    throw new UserError(
      'REPOSITORY_PATH_MISSING',
      `repository ${name} has no local path`,
      'set repositories[].path to its clone',
    );
  }
  return repo.path;
}

export function createLocalPipelinePorts(opts: LocalPipelineOptions): PipelinePorts {
  const { config, stateDir } = opts;
  const github = githubPorts(opts.env ?? process.env);
  const commands: Record<string, DeployCommand> = {};
  const fenced: Record<string, string> = {};
  for (const repo of config.repositories) {
    for (const env of ENVIRONMENTS) {
      const argv = repo.commands.deploy[env];
      if (argv) commands[environmentKey(repo.name, env)] = { argv };
    }
    // One shared staging lock guards every repository's staging (MISSION: the shared staging).
    fenced[environmentKey(repo.name, 'staging')] = 'staging';
  }
  return {
    runner: new WorktreeCommandRunner({
      repositoryPath: (name) => repositoryPath(config, name),
      workDir: path.join(stateDir, 'work'),
    }),
    repository: (name: string): RepositoryConfig | undefined =>
      config.repositories.find((r) => r.name === name),
    git: (repo: RepositoryConfig) => LocalGitRepository.open(repositoryPath(config, repo.name)),
    registry: new FilesystemRegistry(path.join(stateDir, 'registry')),
    environments: new LocalEnvironments({
      dir: path.join(stateDir, 'environments'),
      commands,
      fencing: { resource: opts.fencedResource, environments: fenced },
    }),
    apm: new LocalMetricSource({ dir: path.join(stateDir, 'apm') }),
    tickets: new MarkdownTickets(path.join(stateDir, 'tickets')),
    wiki: new MarkdownWiki(path.join(stateDir, 'wiki')),
    alerts: new AlertJournal({
      file: path.join(stateDir, 'alerts.jsonl'),
      ...(opts.printAlert ? { print: opts.printAlert } : {}),
    }),
    ...(opts.uiUrl ? { uiUrl: opts.uiUrl } : {}),
    ...(github ? { github } : {}),
  };
}
