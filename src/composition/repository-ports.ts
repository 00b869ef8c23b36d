/**
 * The ports that act on one repository, chosen per repository by `githubSelection` (docs/integrations.md
 * "GitHub"): a repository GitHub serves gets GitHub's refs, issues, wiki and commit statuses; any
 * other keeps the local adapters (its clone, markdown tickets and wiki, the status journal), each
 * under `stateDir`.
 *
 * GitHub clients come from one factory built by the caller (one client per set of
 * credentials, or per App installation), so credentials stay inside those clients and never
 * reach workflow data or logs.
 */
import path from 'node:path';
import {
  webUrlOf,
  gitTokenSource,
  DEFAULT_GITHUB_API_URL,
  type GitHubClient,
} from '../adapters/github/client';
import { GitHubContentsWiki } from '../adapters/github/contents-wiki';
import { GitWiki } from '../adapters/github/git-wiki';
import { GitHubCommitStatuses } from '../adapters/github/github-commit-statuses';
import { GitHubGit } from '../adapters/github/github-git';
import { GitHubHistory } from '../adapters/github/github-history';
import { GitHubIssueTickets } from '../adapters/github/github-issue-tickets';
import { GitHubRefs } from '../adapters/github/github-refs';
import { fullName, parseRepositoryRef, type RepositoryRef } from '../adapters/github/repository-ref';
import { ConfluenceWiki } from '../adapters/confluence/confluence-wiki';
import { confluenceClient, jiraClient, type ClientTuning } from '../adapters/jira/credentials';
import { JiraTickets } from '../adapters/jira/jira-tickets';
import { LocalGitRepository } from '../adapters/local/git-repository';
import { MarkdownTickets } from '../adapters/local/markdown-tickets';
import { MarkdownWiki } from '../adapters/local/markdown-wiki';
import { StatusJournal } from '../adapters/local/status-journal';
import type { RepositoryConfig } from '../config/schema';
import { UserError } from '../common/errors';
import { githubSelection } from './github-selection';
import type { CommitStatuses } from '../ports/commit-statuses';
import type { GitPort } from '../ports/git';
import type { GitRefs } from '../ports/git-refs';
import type { Tickets } from '../ports/tickets';
import type { Wiki } from '../ports/wiki';

export interface RepositoryPorts {
  /** History and release refs (local clone, or GitHub with the clone for history when there is one). */
  git: (repository: RepositoryConfig) => Promise<GitPort & GitRefs>;
  /** Where `HOT-<n>` tickets are opened. */
  tickets: (repository: RepositoryConfig) => Promise<Tickets>;
  /** Where retrospective pages are published. */
  wiki: (repository: RepositoryConfig) => Promise<Wiki>;
  /** Where the pipelines' commit statuses go. */
  statuses: (repository: RepositoryConfig) => Promise<CommitStatuses>;
  /** Whether GitHub serves the repository (`githubSelection`, decided once per repository). */
  onGitHub: (repository: RepositoryConfig) => boolean;
  /** The repository's Jira, when `jira` is configured for it (the PR gate's ticket check). */
  jira: (repository: RepositoryConfig) => JiraTickets | undefined;
}

export interface RepositoryPortsOptions {
  /** Absolute state directory. */
  stateDir: string;
  /** Read for the selection rule and `GITHUB_API_URL`. */
  env: NodeJS.ProcessEnv;
  /** The GitHub client of a repository; absent when the worker has no GitHub credentials. */
  githubClients?: (repository: RepositoryRef) => Promise<GitHubClient>;
  /** The git remote of a repository's GitHub wiki (default: `<web root>/OWNER/REPO.wiki.git`). */
  gitWikiRemote?: (repository: RepositoryRef) => string;
  /** Told what a best-effort step could not do (a clone that could not be fetched). */
  warn?: (message: string) => void;
  /** Jira and Confluence client settings; tests shorten rate-limit waits. */
  atlassian?: ClientTuning;
}

function clonePath(repository: RepositoryConfig): string {
  if (!repository.path) {
    throw new UserError(
      'REPOSITORY_PATH_MISSING',
      `repository ${repository.name} has no local path`,
      'set repositories[].path to its clone',
    );
  }
  return repository.path;
}

export function createRepositoryPorts(options: RepositoryPortsOptions): RepositoryPorts {
  const { stateDir, env } = options;
  const webRoot = webUrlOf(env.GITHUB_API_URL || DEFAULT_GITHUB_API_URL);
  const localTickets = new MarkdownTickets(path.join(stateDir, 'tickets'));
  const localWiki = new MarkdownWiki(path.join(stateDir, 'wiki'));
  const journal = new StatusJournal({ file: path.join(stateDir, 'statuses.jsonl') });
  // Adapters that keep state (a wiki clone and its write queue) must be one per repository.
  const wikis = new Map<string, Promise<Wiki>>();
  // Jira and Confluence, per repository: `jira:` / `confluence:` in its configuration win over
  // GitHub's issues and wiki and over the markdown files.
  const jiras = new Map<string, JiraTickets>();
  const jira = (repository: RepositoryConfig): JiraTickets | undefined => {
    if (!repository.jira) return undefined;
    let tickets = jiras.get(repository.name);
    if (!tickets) {
      tickets = new JiraTickets(jiraClient(repository.jira, env, options.atlassian), repository.jira);
      jiras.set(repository.name, tickets);
    }
    return tickets;
  };
  const confluences = new Map<string, ConfluenceWiki>();
  const confluence = (repository: RepositoryConfig): ConfluenceWiki | undefined => {
    if (!repository.confluence) return undefined;
    let wiki = confluences.get(repository.name);
    if (!wiki) {
      wiki = new ConfluenceWiki(
        confluenceClient(repository.confluence, env, options.atlassian),
        repository.confluence,
      );
      confluences.set(repository.name, wiki);
    }
    return wiki;
  };

  const github = async (repository: RepositoryConfig) => {
    const ref = parseRepositoryRef(repository.name);
    if (!options.githubClients) {
      const why = githubSelection(repository, env).reason;
      throw new UserError(
        'GITHUB_CREDENTIALS_MISSING',
        `repository ${repository.name} is served by GitHub (${why}), but the worker has no GitHub credentials`,
        `set GITHUB_TOKEN (or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY) in the worker's environment, or set github.enabled to false for ${repository.name}`,
      );
    }
    return { ref, client: await options.githubClients(ref) };
  };
  // The environment does not change under a running worker: decide once per repository.
  const selected = new Map<string, boolean>();
  const onGitHub = (repository: RepositoryConfig): boolean => {
    let github = selected.get(repository.name);
    if (github === undefined) {
      github = githubSelection(repository, env).github;
      selected.set(repository.name, github);
    }
    return github;
  };

  const githubWiki = async (repository: RepositoryConfig): Promise<Wiki> => {
    const { ref, client } = await github(repository);
    const settings = repository.github.wiki;
    if (settings.mode === 'contents') {
      return new GitHubContentsWiki(client, ref, {
        ...(settings.folder ? { folder: settings.folder } : {}),
        ...(settings.branch ? { branch: settings.branch } : {}),
      });
    }
    const page = `${webRoot}/${ref.owner}/${ref.repo}`;
    return new GitWiki({
      remote: options.gitWikiRemote?.(ref) ?? `${page}.wiki.git`,
      webUrl: `${page}/wiki`,
      workDir: path.join(stateDir, 'github-wiki', ref.owner, ref.repo),
      token: gitTokenSource(client),
    });
  };

  return {
    onGitHub,
    jira,

    async git(repository) {
      if (!onGitHub(repository)) return LocalGitRepository.open(clonePath(repository));
      const { ref, client } = await github(repository);
      const clone = repository.path ? await LocalGitRepository.open(repository.path) : undefined;
      return new GitHubGit({
        refs: new GitHubRefs(client, ref),
        remoteHistory: new GitHubHistory(client, ref),
        ...(clone ? { clone } : {}),
        ...(options.warn ? { warn: options.warn } : {}),
      });
    },

    async tickets(repository) {
      const jiraTickets = jira(repository);
      if (jiraTickets) return jiraTickets;
      if (!onGitHub(repository)) return localTickets;
      const { ref, client } = await github(repository);
      const settings = repository.github.tickets;
      return new GitHubIssueTickets(client, ref, {
        labels: settings.labels,
        assignees: settings.assignees,
      });
    },

    async wiki(repository) {
      const pages = confluence(repository);
      if (pages) return pages;
      if (!onGitHub(repository)) return localWiki;
      const key = fullName(parseRepositoryRef(repository.name)).toLowerCase();
      let wiki = wikis.get(key);
      if (!wiki) {
        wiki = githubWiki(repository);
        wikis.set(key, wiki);
        // A failed build (GitHub unreachable while finding an App's installation) is not kept: the retry builds again.
        wiki.catch(() => wikis.delete(key));
      }
      return wiki;
    },

    async statuses(repository) {
      if (!onGitHub(repository)) return journal.forRepository(repository.name);
      const { ref, client } = await github(repository);
      return new GitHubCommitStatuses(client, ref);
    },
  };
}
