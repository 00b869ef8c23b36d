import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, validateConfig } from '../../src/config/load';
import { githubSelection } from '../../src/composition/github-selection';

function problemsOf(raw: unknown): string[] {
  try {
    validateConfig(raw, {});
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

const token = { GITHUB_TOKEN: 'ghp_selectionTest0123' };

describe('which repositories GitHub serves', () => {
  const cases: {
    name: string;
    github?: { enabled?: boolean };
    env: NodeJS.ProcessEnv;
    served: boolean;
    reason: RegExp;
  }[] = [
    {
      name: 'acme/app',
      env: token,
      served: true,
      reason: /credentials are set and the name is OWNER\/REPO/,
    },
    { name: 'acme/app', env: {}, served: false, reason: /no GitHub credentials/ },
    { name: 'shop', env: token, served: false, reason: /"shop" is not OWNER\/REPO/ },
    { name: 'acme/app', github: { enabled: false }, env: token, served: false, reason: /enabled is false/ },
    { name: 'acme/app', github: { enabled: true }, env: {}, served: true, reason: /enabled is true/ },
    {
      name: 'acme/app',
      env: { GITHUB_APP_ID: '12' },
      served: true,
      reason: /credentials are set/,
    },
  ];
  for (const c of cases) {
    it(`${c.name} ${JSON.stringify(c.github ?? {})} with ${Object.keys(c.env).join(', ') || 'no credentials'}: ${c.served ? 'GitHub' : 'local'}`, () => {
      const selection = githubSelection({ name: c.name, ...(c.github ? { github: c.github } : {}) }, c.env);
      assert.equal(selection.github, c.served);
      assert.match(selection.reason, c.reason);
    });
  }
});

describe('the github section of a repository', () => {
  it('defaults: selection left to the rule, no extra labels or assignees, the GitHub wiki', () => {
    const config = validateConfig({ repositories: [{ name: 'acme/app' }] }, {});
    assert.deepEqual(config.repositories[0]!.github, {
      tickets: { labels: [], assignees: [] },
      wiki: { mode: 'wiki' },
    });
  });

  it('takes labels, assignees and a docs folder on a branch', () => {
    const config = validateConfig(
      {
        repositories: [
          {
            name: 'acme/app',
            github: {
              enabled: true,
              tickets: { labels: ['sev-1'], assignees: ['oncall-ana'] },
              wiki: { mode: 'contents', folder: 'docs/incidents', branch: 'docs' },
            },
          },
        ],
      },
      {},
    );
    assert.deepEqual(config.repositories[0]!.github, {
      enabled: true,
      tickets: { labels: ['sev-1'], assignees: ['oncall-ana'] },
      wiki: { mode: 'contents', folder: 'docs/incidents', branch: 'docs' },
    });
  });

  it('each problem names the key, the value and the fix', () => {
    const problems = problemsOf({
      repositories: [
        {
          name: 'shop',
          github: {
            enabled: true,
            tickets: { assignees: ['not a login'] },
            wiki: { folder: 'docs' },
          },
        },
        { name: 'acme/app', github: { wiki: { mode: 'confluence' }, token: 'x' } },
      ],
    });
    const text = problems.join('\n');
    assert.match(text, /repositories\[1\]\.github\.token: unknown key/);
    assert.match(
      text,
      /repositories\[1\]\.github\.wiki\.mode: got "confluence".*use one of "wiki", "contents"/,
    );
    assert.match(
      text,
      /repositories\[0\]\.github\.tickets\.assignees\[0\]: got "not a login": expected a GitHub login/,
    );
    // Cross-field problems come once the shape is valid: the first repository alone shows them.
    const crossField = problemsOf({
      repositories: [{ name: 'shop', github: { enabled: true, wiki: { folder: 'docs' } } }],
    });
    assert.deepEqual(crossField.length, 2, crossField.join('\n'));
    assert.match(
      crossField[0]!,
      /^repositories\[0\]\.github\.enabled: got true, but the name "shop" is not OWNER\/REPO \(fix: set repositories\[0\]\.name to .*or set repositories\[0\]\.github\.enabled to false\)$/,
    );
    assert.match(
      crossField[1]!,
      /^repositories\[0\]\.github\.wiki\.folder: got "docs", but it is used only with mode "contents" \(fix: set repositories\[0\]\.github\.wiki\.mode to "contents", or remove folder\)$/,
    );
  });
});
