/**
 * Jira and Confluence clients from the worker's environment (docs/integrations.md "Jira and Confluence"):
 * Cloud takes an account's email and API token (basic auth), Data Center a personal access
 * token (bearer). Confluence falls back to Jira's Cloud credentials, the same Atlassian account.
 */
import type { ConfluenceConfig } from '../confluence/confluence-wiki';
import { AtlassianClient, type AtlassianClientOptions } from './atlassian-client';
import type { JiraConfig } from './jira-tickets';

export type ClientTuning = Pick<
  AtlassianClientOptions,
  'rateLimitRetries' | 'maxRetryAfterMs' | 'msPerSecond' | 'requestTimeoutMs' | 'fetch'
>;

export function jiraClient(
  settings: JiraConfig,
  env: NodeJS.ProcessEnv,
  tuning: ClientTuning = {},
): AtlassianClient {
  const cloud = settings.deployment === 'cloud';
  return new AtlassianClient({
    ...tuning,
    product: 'Jira',
    baseUrl: settings.url,
    credentials: cloud
      ? { email: env.JIRA_EMAIL, apiToken: env.JIRA_API_TOKEN }
      : { personalAccessToken: env.JIRA_PAT },
    credentialNames: cloud ? 'JIRA_EMAIL and JIRA_API_TOKEN' : 'JIRA_PAT',
  });
}

export function confluenceClient(
  settings: ConfluenceConfig,
  env: NodeJS.ProcessEnv,
  tuning: ClientTuning = {},
): AtlassianClient {
  const own = env.CONFLUENCE_API_TOKEN;
  return new AtlassianClient({
    ...tuning,
    product: 'Confluence',
    baseUrl: settings.url,
    credentials: env.CONFLUENCE_PAT
      ? { personalAccessToken: env.CONFLUENCE_PAT }
      : own
        ? { email: env.CONFLUENCE_EMAIL ?? env.JIRA_EMAIL, apiToken: own }
        : { email: env.CONFLUENCE_EMAIL ?? env.JIRA_EMAIL, apiToken: env.JIRA_API_TOKEN },
    credentialNames: 'CONFLUENCE_EMAIL and CONFLUENCE_API_TOKEN (or JIRA_EMAIL and JIRA_API_TOKEN)',
  });
}
