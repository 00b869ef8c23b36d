import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, validateConfig } from '../../src/config/load';
import { describeSecrets, maskSecrets } from '../../src/common/secrets';

function problemsOf(raw: unknown): string[] {
  try {
    validateConfig(raw, {});
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('jira and confluence configuration', () => {
  it('defaults the deployment, issue type, priorities, transition and gate', () => {
    const config = validateConfig(
      { repositories: [{ name: 'acme/shop', jira: { url: 'https://acme.atlassian.net', project: 'OPS' } }] },
      {},
    );
    assert.deepEqual(config.repositories[0]!.jira, {
      url: 'https://acme.atlassian.net',
      deployment: 'cloud',
      project: 'OPS',
      issueType: 'Bug',
      priorities: { emergency: 'Highest', rollback: 'High' },
      labels: [],
      doneTransition: 'Done',
      prGate: false,
    });
    assert.equal(config.repositories[0]!.confluence, undefined);
  });

  it('reports every wrong value with its path', () => {
    const problems = problemsOf({
      repositories: [
        {
          name: 'acme/shop',
          jira: { url: 'acme', project: 'ops', labels: ['sev 1'], deployment: 'server' },
          confluence: { url: 'https://acme.atlassian.net/wiki', space: 'OPS', parentPageId: 'Retros' },
        },
      ],
    });
    const fields = problems.map((p) => p.split(':')[0]);
    assert.deepEqual(fields.sort(), [
      'repositories[0].confluence.parentPageId',
      'repositories[0].jira.deployment',
      'repositories[0].jira.labels[0]',
      'repositories[0].jira.project',
      'repositories[0].jira.url',
    ]);
    assert.match(
      problems.find((p) => p.includes('jira.project'))!,
      /Jira project key such as "OPS"/,
    );
  });

  it('the Jira and Confluence tokens are secrets', () => {
    const env = {
      JIRA_API_TOKEN: 'jira-token-123',
      JIRA_PAT: 'pat-123456',
      CONFLUENCE_API_TOKEN: 'conf-token-123',
    };
    assert.equal(maskSecrets('a jira-token-123 b pat-123456 c conf-token-123', env), 'a **** b **** c ****');
    const view = describeSecrets(env);
    assert.equal(view.JIRA_API_TOKEN, 'set (masked)');
    assert.equal(view.CONFLUENCE_PAT, 'not set');
  });
});
