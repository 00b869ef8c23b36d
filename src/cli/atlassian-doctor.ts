/**
 * `release-flow doctor`'s checks of Jira and Confluence (docs/integrations.md "Jira and Confluence"): for
 * every repository that configures them, the Jira project, issue type, permissions and done
 * transition, and the Confluence space and parent page, each existing and writable by the
 * account in the environment. Every check answers; none throws, so one broken setting does not
 * hide the others.
 */
import { ConfluencePermissions, type ConfluenceConfig } from '../adapters/confluence/confluence-wiki';
import type { AtlassianClient } from '../adapters/jira/atlassian-client';
import { confluenceClient, jiraClient, type ClientTuning } from '../adapters/jira/credentials';
import { INCIDENT_LABEL, type JiraConfig } from '../adapters/jira/jira-tickets';
import { loadConfig } from '../config/load';
import type { Config } from '../config/schema';
import { maskSecrets } from '../common/secrets';
import { isUserError } from '../common/errors';

export interface IntegrationCheck {
  repository: string;
  system: 'jira' | 'confluence';
  check: string;
  ok: boolean;
  detail: string;
}

type Step = (report: (check: string, ok: boolean, detail: string) => void) => Promise<void>;

function messageOf(err: unknown): string {
  return maskSecrets(isUserError(err) ? err.render() : err instanceof Error ? err.message : String(err));
}

const JIRA_PERMISSIONS = ['BROWSE_PROJECTS', 'CREATE_ISSUES', 'ADD_COMMENTS', 'TRANSITION_ISSUES'];

function jiraSteps(client: AtlassianClient, jira: JiraConfig): Step {
  const api = jira.deployment === 'cloud' ? '/rest/api/3' : '/rest/api/2';
  const get = <T>(path: string, action: string, query?: Record<string, string>) =>
    client.request<T>({
      path: `${api}${path}`,
      ...(query ? { query } : {}),
      action,
      permission: 'Browse projects',
    });
  return async (report) => {
    const project = await get<{ key: string }>(`/project/${jira.project}`, `read project ${jira.project}`);
    if (!project)
      return report(
        'project',
        false,
        `project ${jira.project} not found at ${jira.url} (check jira.project)`,
      );
    report('project', true, `project ${jira.project} exists`);

    const meta = await get<{ issueTypes?: { name: string }[]; values?: { name: string }[] }>(
      `/issue/createmeta/${jira.project}/issuetypes`,
      `read the issue types of ${jira.project}`,
    );
    const types = (meta?.issueTypes ?? meta?.values ?? []).map((t) => t.name);
    report(
      'issue type',
      types.includes(jira.issueType),
      types.includes(jira.issueType)
        ? `issue type "${jira.issueType}" can be created in ${jira.project}`
        : `issue type "${jira.issueType}" is not offered in ${jira.project} (it has: ${types.join(', ') || 'none'}; check jira.issueType)`,
    );

    const mine = await get<{ permissions: Record<string, { havePermission: boolean }> }>(
      '/mypermissions',
      `read the account's permissions in ${jira.project}`,
      { projectKey: jira.project, permissions: JIRA_PERMISSIONS.join(',') },
    );
    const missing = JIRA_PERMISSIONS.filter((p) => !mine?.permissions[p]?.havePermission);
    report(
      'writable',
      missing.length === 0,
      missing.length
        ? `the account lacks ${missing.join(', ')} in ${jira.project}`
        : `the account may create, comment and transition issues in ${jira.project}`,
    );

    const statuses = await get<
      { name: string; statuses: { name: string; statusCategory?: { key?: string } }[] }[]
    >(`/project/${jira.project}/statuses`, `read the statuses of ${jira.project}`);
    const ofType = statuses?.find((t) => t.name === jira.issueType)?.statuses ?? [];
    const done = ofType.filter((s) => s.statusCategory?.key === 'done').map((s) => s.name);
    if (!done.length) {
      return report(
        'transition',
        false,
        `the "${jira.issueType}" workflow of ${jira.project} has no status in the done category`,
      );
    }
    // Transitions belong to an issue's current status: read them on an open ticket of ours when there is one.
    const jql = `project = "${jira.project}" AND labels = "${INCIDENT_LABEL}"`;
    const found =
      jira.deployment === 'cloud'
        ? await get<{
            issues: { key: string; fields: { status?: { statusCategory?: { key?: string } } } }[];
          }>('/search/jql', `search ${jira.project}`, { jql, fields: 'status', maxResults: '50' })
        : await get<{
            issues: { key: string; fields: { status?: { statusCategory?: { key?: string } } } }[];
          }>('/search', `search ${jira.project}`, { jql, fields: 'status', maxResults: '50' });
    const open = found?.issues.find((i) => i.fields.status?.statusCategory?.key !== 'done');
    if (!open) {
      return report(
        'transition',
        true,
        `done statuses: ${done.join(', ')}; "${jira.doneTransition}" is checked on the first open release-flow ticket`,
      );
    }
    const offered = await get<{ transitions: { name: string }[] }>(
      `/issue/${open.key}/transitions`,
      `read the transitions of ${open.key}`,
    );
    const names = (offered?.transitions ?? []).map((t) => t.name);
    const ok = names.some((n) => n.toLowerCase() === jira.doneTransition.toLowerCase());
    report(
      'transition',
      ok,
      ok
        ? `${open.key} offers "${jira.doneTransition}"`
        : `${open.key} does not offer "${jira.doneTransition}" (it offers: ${names.join(', ') || 'none'}; check jira.doneTransition)`,
    );
  };
}

function confluenceSteps(client: AtlassianClient, confluence: ConfluenceConfig): Step {
  const get = <T>(path: string, action: string, query?: Record<string, string>) =>
    client.request<T>({ path, ...(query ? { query } : {}), action, permission: ConfluencePermissions.view });
  const creates = (ops: { operations: { operation: string; targetType: string }[] } | null, op: string) =>
    (ops?.operations ?? []).some((o) => o.operation === op && o.targetType === 'page');
  return async (report) => {
    const spaces = await get<{ results: { id: string; key: string }[] }>(
      '/api/v2/spaces',
      `find space ${confluence.space}`,
      {
        keys: confluence.space,
      },
    );
    const space = spaces?.results.find((s) => s.key === confluence.space);
    if (!space)
      return report(
        'space',
        false,
        `space ${confluence.space} not found at ${confluence.url} (check confluence.space)`,
      );
    const spaceOps = await get<{ operations: { operation: string; targetType: string }[] }>(
      `/api/v2/spaces/${space.id}/operations`,
      `read the permitted operations in space ${confluence.space}`,
    );
    report(
      'space',
      creates(spaceOps, 'create'),
      creates(spaceOps, 'create')
        ? `space ${confluence.space} exists and the account may add pages`
        : `the account may not add pages in space ${confluence.space} (grant "${ConfluencePermissions.addPage}")`,
    );
    const parent = await get<{ id: string; title: string; spaceId: string }>(
      `/api/v2/pages/${confluence.parentPageId}`,
      `read page ${confluence.parentPageId}`,
    );
    if (!parent) {
      return report(
        'parent page',
        false,
        `page ${confluence.parentPageId} not found (check confluence.parentPageId)`,
      );
    }
    if (parent.spaceId !== space.id) {
      return report(
        'parent page',
        false,
        `page ${confluence.parentPageId} ("${parent.title}") is not in space ${confluence.space}`,
      );
    }
    const pageOps = await get<{ operations: { operation: string; targetType: string }[] }>(
      `/api/v2/pages/${parent.id}/operations`,
      `read the permitted operations on page ${parent.id}`,
    );
    report(
      'parent page',
      creates(pageOps, 'read'),
      `page ${parent.id} ("${parent.title}") exists in ${confluence.space}${creates(pageOps, 'update') ? ' and is writable' : ''}`,
    );
  };
}

/** Every Jira and Confluence check of the configured repositories. */
export async function checkAtlassian(
  config: Readonly<Config>,
  env: NodeJS.ProcessEnv,
  tuning: ClientTuning = {},
): Promise<IntegrationCheck[]> {
  const checks: IntegrationCheck[] = [];
  const run = async (repository: string, system: IntegrationCheck['system'], make: () => Step) => {
    const report = (check: string, ok: boolean, detail: string) =>
      checks.push({ repository, system, check, ok, detail: maskSecrets(detail) });
    try {
      await make()(report);
    } catch (err) {
      report('reachable', false, messageOf(err));
    }
  };
  for (const repo of config.repositories) {
    if (repo.jira) {
      const jira = repo.jira;
      await run(repo.name, 'jira', () => jiraSteps(jiraClient(jira, env, tuning), jira));
    }
    if (repo.confluence) {
      const confluence = repo.confluence;
      await run(repo.name, 'confluence', () =>
        confluenceSteps(confluenceClient(confluence, env, tuning), confluence),
      );
    }
  }
  return checks;
}

/** One line per check, as `doctor` prints them. */
export function describeChecks(checks: readonly IntegrationCheck[]): string[] {
  return checks.map(
    (c) => `${c.system} ${c.check} (${c.repository}): ${c.ok ? 'OK' : 'FAILED'}: ${c.detail}`,
  );
}

/**
 * What `doctor` adds for Jira and Confluence: nothing when no configuration is found or none
 * configures them; a configuration that does not load is one failed check naming why.
 */
export async function doctorAtlassian(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ json: { atlassian?: IntegrationCheck[] }; lines: string[]; failed: boolean }> {
  let checks: IntegrationCheck[];
  try {
    checks = await checkAtlassian(loadConfig({ file, env }).config, env);
  } catch (err) {
    checks = [{ repository: '-', system: 'jira', check: 'configuration', ok: false, detail: messageOf(err) }];
  }
  return {
    json: checks.length ? { atlassian: checks } : {},
    lines: describeChecks(checks),
    failed: checks.some((c) => !c.ok),
  };
}
