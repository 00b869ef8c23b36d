/**
 * The composition root of the pipelines: config -> adapters -> the ports the pipeline
 * activities take. Builds and environments are local; the registry, APM and alerts are local
 * unless the configuration names real ones (integration-ports.ts); what acts on
 * a repository (refs, tickets, wiki, commit statuses) is GitHub's for a repository GitHub
 * serves and local otherwise (repository-ports.ts). Every local adapter keeps its state under
 * `stateDir`, so a restart (or a SIGKILL) of the worker finds its earlier work and never
 * repeats it.
 */
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { PipelinePorts } from '../activities/pipeline';
import { environmentKey } from '../activities/deploy';
import { linkReleaseOnTickets } from '../activities/release-links';
import type { PullRequestPorts } from '../activities/pr-gate';
import {
  DEFAULT_GITHUB_API_URL,
  webUrlOf,
  createGitHubClients,
  githubCredentialsFromEnv,
  type GitHubClient,
  type GitHubClientOptions,
} from '../adapters/github/client';
import { GitHubCommitStatuses } from '../adapters/github/github-commit-statuses';
import { GitHubPullRequests } from '../adapters/github/github-pull-requests';
import { parseRepositoryRef, type RepositoryRef } from '../adapters/github/repository-ref';
import { AlertJournal } from '../adapters/local/alert-journal';
import { LocalGitRepository } from '../adapters/local/git-repository';
import {
  LocalPullRequests,
  PullRequestRegistry,
  pullRequestRegistryPath,
} from '../adapters/local/local-pull-requests';
import { FilesystemRegistry } from '../adapters/local/filesystem-registry';
import { LocalEnvironments, type DeployCommand } from '../adapters/local/local-environments';
import { LocalIncidents } from '../adapters/local/local-incidents';
import { LocalMetricSource } from '../adapters/local/local-metric-source';
import { WorktreeCommandRunner } from '../adapters/local/worktree-command-runner';
import type { Config, RepositoryConfig } from '../config/schema';
import { UserError } from '../common/errors';
import type { FencedResource } from '../ports/fenced-resource';
import { githubSelection } from './github-selection';
import type { CommitStatuses } from '../ports/commit-statuses';
import type { TicketTracker } from '../ports/ticket-tracker';
import { createRepositoryPorts } from './repository-ports';
import { stepSandboxFor, type StepSandbox } from '../adapters/local/step-sandbox';
import { ReleaseLedger, releaseLedgerPath } from '../adapters/local/release-ledger';
import { alertsFromConfig, ociRegistryFromConfig, RoutedApm, RoutedRegistry } from './integration-ports';
import type { Registry } from '../ports/registry';

export interface LocalPipelineOptions {
  config: Readonly<Config>;
  /** Absolute state directory (config.stateDir resolved). */
  stateDir: string;
  /** The staging lock's fenced resource: staging writes must carry a current token. */
  fencedResource: FencedResource;
  uiUrl?: string;
  /** Where alerts are printed besides the journal (console by default). */
  printAlert?: (text: string) => void;
  /** Where GitHub credentials and GITHUB_API_URL are read (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** GitHub client settings; tests against a local fake turn pacing off. */
  githubClient?: Pick<GitHubClientOptions, 'pace' | 'waitScaleMs'>;
  /** The git remote of a GitHub wiki (default: next to the repository's web URL); tests use a path. */
  gitWikiRemote?: (repository: RepositoryRef) => string;
  /** Where best-effort steps report what they could not do (default: the activity's log). */
  warn?: (message: string) => void;
  /** Where steps run (default: from `config.sandbox` and what the worker holds). */
  sandbox?: StepSandbox;
}

interface PullRequestPortsOptions {
  config: Readonly<Config>;
  stateDir: string;
  env: NodeJS.ProcessEnv;
  clients: GitHubClients | undefined;
  /** The commit statuses of a configured repository (GitHub's, or the local journal). */
  statuses: (repository: RepositoryConfig) => Promise<CommitStatuses>;
  /** The pipelines' GitHub selection, so the gate and the pipelines never disagree. */
  onGitHub: (repository: RepositoryConfig) => boolean;
  /** The repository's Jira, when configured (the gate checks tickets when `jira.prGate`). */
  jira: (repository: RepositoryConfig) => TicketTracker | undefined;
}

/**
 * The PR gate's ports of a repository, by the same rule as the pipelines (`githubSelection`):
 * GitHub's pull requests and statuses, or for a local repository its clone, the gate's registry
 * of pull requests and the status journal. A repository that is not configured can only be
 * GitHub's. Credentials stay inside the clients, built on first use (one per App installation).
 */
function pullRequestPorts(options: PullRequestPortsOptions) {
  const { config, env, clients } = options;
  const registryDir = path.join(options.stateDir, 'pull-requests');
  return async (repository: string): Promise<PullRequestPorts> => {
    const repo = config.repositories.find((r) => r.name === repository);
    const jira = repo?.jira?.prGate ? options.jira(repo) : undefined;
    const tracker = jira ? { tracker: { name: `Jira (${repo!.jira!.url})`, tickets: jira } } : {};
    if (repo && !options.onGitHub(repo)) {
      if (!repo.path) {
        throw new UserError(
          'PULL_REQUESTS_UNSERVED',
          `pull requests of ${repository} cannot be read: GitHub does not serve it (${githubSelection(repo, env).reason}) and it has no local path`,
          `set repositories[].path to its clone, or give the worker GitHub credentials (GITHUB_TOKEN, or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY)`,
        );
      }
      const registry = new PullRequestRegistry(pullRequestRegistryPath(registryDir, repository));
      return {
        pullRequests: new LocalPullRequests(await LocalGitRepository.open(repo.path), registry),
        statuses: await options.statuses(repo),
        remember: (pullRequest) => registry.remember(pullRequest),
        ...tracker,
      };
    }
    if (!clients) {
      throw new UserError(
        'GITHUB_CREDENTIALS_MISSING',
        `pull requests of ${repository} are on GitHub, but the worker has no GitHub credentials`,
        `set GITHUB_TOKEN (or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY; GITHUB_API_URL for GitHub Enterprise Server) in the worker's environment and restart it${repo ? `, or set github.enabled to false for ${repository} to check it in its local clone` : ''}`,
      );
    }
    const ref = parseRepositoryRef(repository);
    const github = await clients(ref);
    return {
      pullRequests: new GitHubPullRequests(github, ref),
      statuses: new GitHubCommitStatuses(github, ref),
      ...tracker,
      webUrl: (number) =>
        `${webUrlOf(env.GITHUB_API_URL || DEFAULT_GITHUB_API_URL)}/${ref.owner}/${ref.repo}/pull/${number}`,
    };
  };
}

type GitHubClients = (repository: RepositoryRef) => Promise<GitHubClient>;

/**
 * The GitHub clients of this worker, shared by the PR gate and the pipelines' GitHub
 * repositories; none without credentials in `env`.
 */
function githubClientsFromEnv(
  env: NodeJS.ProcessEnv,
  options: LocalPipelineOptions['githubClient'],
): GitHubClients | undefined {
  const credentials = githubCredentialsFromEnv(env);
  if (!credentials) return undefined;
  const baseUrl = env.GITHUB_API_URL;
  return createGitHubClients({ ...options, credentials, ...(baseUrl ? { baseUrl } : {}) });
}

/** Best-effort steps report here: the activity's log when inside one, else stderr. */
function warnInActivity(message: string): void {
  try {
    Context.current().log.warn(message);
  } catch {
    console.warn(`release-flow: ${message}`);
  }
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
  const env = opts.env ?? process.env;
  const clients = githubClientsFromEnv(env, opts.githubClient);
  const perRepository = createRepositoryPorts({
    stateDir,
    env,
    ...(clients ? { githubClients: clients } : {}),
    ...(opts.gitWikiRemote ? { gitWikiRemote: opts.gitWikiRemote } : {}),
    warn: opts.warn ?? warnInActivity,
  });
  const commands: Record<string, DeployCommand> = {};
  const fenced: Record<string, string> = {};
  for (const repo of config.repositories) {
    for (const env of ENVIRONMENTS) {
      const { variables, files } = repo.commands.deploy;
      const argv = repo.commands.deploy[env];
      if (argv) commands[environmentKey(repo.name, env)] = { argv, variables, files, environment: env };
    }
    // One shared staging lock guards every repository's staging (docs/pipelines-and-decisions.md "The staging lock").
    fenced[environmentKey(repo.name, 'staging')] = 'staging';
  }
  // Refuses to start when a step cannot be sandboxed as configured (docs/threat-model.md).
  const db = path.resolve(config.temporal.devServer.dbFile);
  const sandbox =
    opts.sandbox ?? stepSandboxFor(config, { stateDir, env, hide: [db, `${db}-wal`, `${db}-shm`] });
  // Real integrations where the configuration names them (integration-ports.ts); local otherwise.
  let oci: Registry | undefined;
  const registry = new RoutedRegistry(
    config,
    new FilesystemRegistry(path.join(stateDir, 'registry')),
    () => (oci ??= ociRegistryFromConfig(config, stateDir, env)),
  );
  const alerts = alertsFromConfig({
    config,
    stateDir,
    env,
    journal: new AlertJournal({
      file: path.join(stateDir, 'alerts.jsonl'),
      ...(opts.printAlert ? { print: opts.printAlert } : {}),
    }),
    warn: opts.warn ?? warnInActivity,
  });
  return {
    runner: new WorktreeCommandRunner({
      repositoryPath: (name) => repositoryPath(config, name),
      workDir: path.join(stateDir, 'work'),
      sandbox,
    }),
    repository: (name: string): RepositoryConfig | undefined =>
      config.repositories.find((r) => r.name === name),
    git: perRepository.git,
    onGitHub: perRepository.onGitHub,
    releases: ReleaseLedger.open(releaseLedgerPath(stateDir)),
    registry,
    environments: new LocalEnvironments({
      dir: path.join(stateDir, 'environments'),
      commands,
      fencing: { resource: opts.fencedResource, environments: fenced },
      sandbox,
    }),
    apm: new RoutedApm(config, new LocalMetricSource({ dir: path.join(stateDir, 'apm') }), env),
    incidents: new LocalIncidents(stateDir),
    tickets: perRepository.tickets,
    wiki: perRepository.wiki,
    statuses: perRepository.statuses,
    alerts,
    ...(opts.uiUrl ? { uiUrl: opts.uiUrl } : {}),
    announceRelease: (release) =>
      linkReleaseOnTickets(
        {
          repository: (name) => config.repositories.find((r) => r.name === name),
          git: perRepository.git,
          jira: perRepository.jira,
          ...(opts.uiUrl ? { uiUrl: opts.uiUrl } : {}),
        },
        release,
      ),
    // The release board is served at the server's root; tickets link it when people can reach it.
    ...(config.server.publicUrl ? { boardUrl: config.server.publicUrl } : {}),
    pullRequestPorts: pullRequestPorts({
      config,
      stateDir,
      env,
      clients,
      statuses: perRepository.statuses,
      onGitHub: perRepository.onGitHub,
      jira: perRepository.jira,
    }),
  };
}
