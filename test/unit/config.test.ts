import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, validateConfig } from '../../src/config/load';
import { maskSecrets } from '../../src/common/secrets';
import { main } from '../../src/cli/main';

function dirWith(name: string, content: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rf-config-'));
  writeFileSync(path.join(dir, name), content);
  return dir;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

async function cli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const code = await main(['node', 'release-flow', ...argv], {
      out: (s) => out.push(s),
      err: (s) => err.push(s),
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    for (const key of Object.keys(env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

describe('configuration', () => {
  it('no file gives the documented defaults', () => {
    const { config, file } = loadConfig({ env: {}, cwd: mkdtempSync(path.join(os.tmpdir(), 'rf-empty-')) });
    assert.equal(file, undefined);
    assert.equal(config.temporal.taskQueue, 'release-flow');
    assert.equal(config.temporal.devServer.uiPort, 8233);
    assert.equal(config.server.port, 3000);
    assert.deepEqual(config.repositories, []);
    assert.ok(Object.isFrozen(config.temporal), 'the loaded config is frozen');
  });

  it('reads YAML and JSON files found by their default names', () => {
    const yaml = loadConfig({
      env: {},
      cwd: dirWith('release-flow.yml', 'temporal:\n  taskQueue: releases\n'),
    });
    assert.equal(yaml.config.temporal.taskQueue, 'releases');
    const json = loadConfig({ env: {}, cwd: dirWith('release-flow.json', '{"server":{"port":4000}}') });
    assert.equal(json.config.server.port, 4000);
  });

  it('an unknown key is an error naming the full path of the key', () => {
    const problems = problemsOf(() => validateConfig({ temporal: { taskQueu: 'x' } }, {}));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^temporal\.taskQueu: unknown key/);
  });

  it('reports every problem at once, each with field, value and what was expected', () => {
    const problems = problemsOf(() =>
      validateConfig(
        {
          server: { port: 'eighty' },
          repositories: [
            { name: 'a', preset: 'eslint' },
            { name: 'a', releaseTagPattern: '([' },
          ],
          colour: 'blue',
        },
        {},
      ),
    );
    const text = problems.join('\n');
    assert.match(text, /server\.port: got "eighty": expected number/);
    assert.match(text, /repositories\[0\]\.preset: got "eslint"/);
    assert.match(text, /colour: unknown key/);
    assert.ok(problems.length >= 3, text);
  });

  it('temporal.uiUrl takes an http(s) URL for the links in statuses; anything else is named', () => {
    assert.equal(
      validateConfig({ temporal: { uiUrl: 'https://temporal.example.com' } }, {}).temporal.uiUrl,
      'https://temporal.example.com',
    );
    const problems = problemsOf(() => validateConfig({ temporal: { uiUrl: 'localhost:8080' } }, {}));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /temporal\.uiUrl: got "localhost:8080": expected an http\(s\) URL/);
  });

  it('cross-field problems (duplicate names, bad regex) are reported together', () => {
    const problems = problemsOf(() =>
      validateConfig({ repositories: [{ name: 'a', releaseTagPattern: '([' }, { name: 'a' }] }, {}),
    );
    assert.match(problems.join('\n'), /releaseTagPattern: got "\(\[": not a valid regular expression/);
    assert.match(problems.join('\n'), /repositories\[1\]\.name: got "a": duplicate repository name/);
  });

  it('PORT and RELEASE_FLOW_TASK_QUEUE override the file; a bad PORT is a named problem', () => {
    const config = validateConfig(
      { server: { port: 3000 } },
      { PORT: '3456', RELEASE_FLOW_TASK_QUEUE: 'q2' },
    );
    assert.equal(config.server.port, 3456);
    assert.equal(config.temporal.taskQueue, 'q2');
    assert.match(
      problemsOf(() => validateConfig({}, { PORT: 'abc' }))[0]!,
      /^PORT="abc": expected a port number/,
    );
  });

  it('broken YAML is one problem naming the file', () => {
    const cwd = dirWith('release-flow.yml', 'temporal: [unclosed\n');
    assert.throws(
      () => loadConfig({ env: {}, cwd }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /release-flow\.yml has 1 problem/);
        assert.match(err.problems[0]!, /not valid YAML/);
        return true;
      },
    );
  });

  it('secret values are masked wherever they appear', () => {
    assert.equal(maskSecrets('token=ghp_abcdef123 ok', { GITHUB_TOKEN: 'ghp_abcdef123' }), 'token=**** ok');
  });
});

describe('release-flow config check', () => {
  it('prints the effective config with secrets masked and says OK', async () => {
    const dir = dirWith('rf.yml', 'repositories:\n  - name: acme/shop\n    path: /srv/shop\n');
    const r = await cli(['config', 'check', path.join(dir, 'rf.yml')], { GITHUB_TOKEN: 'ghp_supersecret99' });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /name: acme\/shop/);
    assert.match(r.out, /GITHUB_TOKEN: set \(masked\)/);
    assert.doesNotMatch(r.out, /ghp_supersecret99/);
    assert.match(r.out, /acme\/shop: GitHub \(GitHub credentials are set and the name is OWNER\/REPO\)/);
    assert.match(r.out, /config OK$/);
  });

  it('says which repositories GitHub serves in this environment, and why', async () => {
    const dir = dirWith(
      'rf.json',
      JSON.stringify({
        repositories: [
          { name: 'acme/shop', path: '/srv/shop' },
          { name: 'acme/kept', path: '/srv/kept', github: { enabled: false } },
          { name: 'local-app', path: '/srv/app' },
        ],
      }),
    );
    const r = await cli(['config', 'check', path.join(dir, 'rf.json'), '--json'], { GITHUB_TOKEN: '' });
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out).servedBy, {
      'acme/shop': 'local adapters (no GitHub credentials (GITHUB_TOKEN or a GitHub App) in the environment)',
      'acme/kept': 'local adapters (github.enabled is false)',
      'local-app': 'local adapters (the name "local-app" is not OWNER/REPO)',
    });
  });

  it('--json prints one parseable object', async () => {
    const dir = dirWith('rf.json', '{"server":{"port":3100}}');
    const r = await cli(['config', 'check', path.join(dir, 'rf.json'), '--json']);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).server.port, 3100);
  });

  it('an invalid file exits 2 with every problem and no stack trace', async () => {
    const dir = dirWith('rf.yml', 'server:\n  port: -1\nrepos: []\n');
    const r = await cli(['config', 'check', path.join(dir, 'rf.yml')]);
    assert.equal(r.code, 2);
    assert.match(r.err, /CONFIG_INVALID: .*rf\.yml has 2 problems/);
    assert.match(r.err, /server\.port: got -1/);
    assert.match(r.err, /repos: unknown key/);
    assert.doesNotMatch(r.err, /\bat .*\.ts:\d+/);
  });

  it('a missing file names the path and the fix', async () => {
    const r = await cli(['config', 'check', '/nope/rf.yml']);
    assert.equal(r.code, 2);
    assert.match(r.err, /CONFIG_NOT_FOUND: config file \/nope\/rf\.yml does not exist/);
  });
});

describe('release-flow bin basics', () => {
  it('--version prints the package version', async () => {
    const r = await cli(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.out, /^\d+\.\d+\.\d+$/);
  });

  it('--help lists the commands', async () => {
    const r = await cli(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /config/);
    assert.match(r.out, /doctor/);
  });

  it('an unknown command exits non-zero with usage help', async () => {
    const r = await cli(['frobnicate']);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /unknown command/);
  });
});
