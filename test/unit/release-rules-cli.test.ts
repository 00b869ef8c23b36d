/**
 * `release-flow next-version` and `release-flow check-pr` on real git repositories built in
 * temporary directories, in-process through main() and once through the real bin.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { main } from '../../src/cli/main';
import { GitFixture } from '../helpers/git-fixture';

const fixture = new GitFixture();
after(() => fixture.remove());
const root = fixture.root;
const git = (dir: string, ...args: string[]): string => fixture.git(dir, ...args);
const newRepo = (): string => fixture.repository();
/** Commits a new file with `message` and returns the sha; new files keep merges free of conflicts. */
const commit = (dir: string, message: string): string => fixture.commit(dir, message);

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'release-flow', ...argv], {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

interface Json {
  next: string | null;
  bump: string | null;
  lastTag: string | null;
  commits: { sha: string; header: string; effect: string; reason: string; warning?: string }[];
}

async function nextVersionJson(...argv: string[]): Promise<Json> {
  const result = await run('next-version', '--json', ...argv);
  assert.equal(result.code, 0, result.err);
  return JSON.parse(result.out) as Json;
}

describe('release-flow next-version', () => {
  let repo: string;
  const shas: Record<string, string> = {};
  before(() => {
    repo = newRepo();
    commit(repo, 'chore: init');
    git(repo, 'tag', 'v1.2.0');
    commit(repo, 'fix: older fix');
    git(repo, 'tag', '-a', '-m', 'release', 'v1.2.1'); // annotated: its commit is the peeled object
    git(repo, 'tag', 'v1.10.0-rc.1'); // not a release under the default pattern
    git(repo, 'tag', 'latest');
    git(repo, 'checkout', '-q', '-b', 'other');
    commit(repo, 'feat: on another branch');
    git(repo, 'tag', 'v9.9.9'); // not reachable from main
    git(repo, 'checkout', '-q', 'main');
    shas.docs = commit(repo, 'docs: readme');
    shas.feat = commit(repo, 'feat(JIRA-1): add export\n\nWith a body\nover lines.');
    shas.bang = commit(repo, 'feat!: looks breaking');
    shas.fix = commit(repo, 'fix(api/v2.x): handle nulls\r\n\r\nCRLF body');
    git(repo, 'checkout', '-q', '-b', 'topic');
    shas.perf = commit(repo, 'perf: faster');
    git(repo, 'checkout', '-q', 'main');
    git(repo, 'merge', '-q', '--no-ff', '-m', 'Merge branch topic\n\nperf: faster', 'topic');
    shas.merge = git(repo, 'rev-parse', 'HEAD');
  });

  it('computes the tag, the bump and every commit since the last release tag', async () => {
    const json = await nextVersionJson('--repo', repo);
    assert.equal(json.next, 'v1.3.0');
    assert.equal(json.bump, 'minor');
    assert.equal(json.lastTag, 'v1.2.1');
    const bySha = new Map(json.commits.map((c) => [c.sha, c]));
    assert.equal(json.commits.length, 6);
    assert.equal(bySha.get(shas.feat!)?.effect, 'minor');
    assert.equal(bySha.get(shas.feat!)?.header, 'feat(JIRA-1): add export');
    assert.equal(bySha.get(shas.fix!)?.effect, 'patch');
    assert.equal(bySha.get(shas.perf!)?.effect, 'patch');
    assert.equal(bySha.get(shas.docs!)?.effect, 'none');
    assert.match(bySha.get(shas.docs!)!.reason, /does not trigger a release/);
    assert.equal(bySha.get(shas.merge!)?.effect, 'none');
    assert.equal(bySha.get(shas.bang!)?.effect, 'none');
    assert.match(bySha.get(shas.bang!)!.warning!, /does not read `!`/);
  });

  it('agrees with the analyzer on the same history', async () => {
    const { analyzeCommits } = await import('@semantic-release/commit-analyzer');
    const log = git(repo, 'log', '-z', '--format=%H%n%B', 'v1.2.1..main');
    const commits = log
      .split('\0')
      .filter(Boolean)
      .map((r) => ({ hash: r.slice(0, 40), message: r.slice(41).trim() }));
    const bump = await analyzeCommits({}, { commits, logger: { log() {} }, cwd: repo });
    assert.equal((await nextVersionJson('--repo', repo)).bump, bump);
  });

  it('--ref picks the commit to release; --preset conventionalcommits reads `!`', async () => {
    assert.equal((await nextVersionJson('--repo', repo, '--ref', shas.feat!)).next, 'v1.3.0');
    assert.equal((await nextVersionJson('--repo', repo, '--ref', shas.docs!)).next, null);
    assert.equal((await nextVersionJson('--repo', repo, '--preset', 'conventionalcommits')).next, 'v2.0.0');
    assert.equal((await nextVersionJson('--repo', repo, '--ref', 'other')).lastTag, 'v9.9.9');
  });

  it('prints the tag and the commits that cause it', async () => {
    const { code, out } = await run('next-version', '--repo', repo);
    assert.equal(code, 0);
    assert.match(out, /^v1\.3\.0 \(minor; last release v1\.2\.1; 6 commits since v1\.2\.1\)/);
    assert.match(out, new RegExp(`minor ${shas.feat!.slice(0, 7)} feat\\(JIRA-1\\): add export`));
  });

  it('says "no release" and exits 0 when nothing is releasable', async () => {
    const dir = newRepo();
    commit(dir, 'feat: first');
    git(dir, 'tag', 'v1.0.0');
    commit(dir, 'docs: only docs');
    const { code, out } = await run('next-version', '--repo', dir);
    assert.equal(code, 0);
    assert.match(out, /^no release/);
    assert.deepEqual(
      { ...(await nextVersionJson('--repo', dir)), commits: undefined },
      {
        ...(await nextVersionJson('--repo', dir)),
        next: null,
        bump: null,
        lastTag: 'v1.0.0',
        commits: undefined,
      },
    );
  });

  it('starts at v1.0.0 without a release tag, and a revert cancels its commit', async () => {
    const dir = newRepo();
    commit(dir, 'fix: first fix');
    const feat = commit(dir, 'feat: to be reverted');
    git(dir, 'revert', '--no-edit', feat);
    const json = await nextVersionJson('--repo', dir);
    assert.equal(json.next, 'v1.0.0');
    assert.equal(json.bump, 'patch');
    assert.equal(json.lastTag, null);
    assert.match(json.commits.find((c) => c.sha === feat)!.reason, /reverted by/);
  });

  it('a BREAKING CHANGE note in a merge commit is major', async () => {
    const dir = newRepo();
    commit(dir, 'chore: init');
    git(dir, 'tag', 'v0.3.0');
    git(dir, 'checkout', '-q', '-b', 'topic');
    commit(dir, 'refactor: rename');
    git(dir, 'checkout', '-q', 'main');
    git(
      dir,
      'merge',
      '-q',
      '--no-ff',
      '-m',
      'Merge pull request #4 from a/b\n\nBREAKING CHANGE: renamed',
      'topic',
    );
    assert.equal((await nextVersionJson('--repo', dir)).next, 'v1.0.0');
  });

  it('--tag-pattern ignores tags that do not match it', async () => {
    const dir = newRepo();
    commit(dir, 'chore: init');
    git(dir, 'tag', 'release-2.0.0');
    git(dir, 'tag', 'v3.0.0');
    commit(dir, 'fix: a');
    const json = await nextVersionJson(
      '--repo',
      dir,
      '--tag-pattern',
      '^release-\\d+\\.\\d+\\.\\d+$',
      '--tag-format',
      'release-{version}',
    );
    assert.equal(json.lastTag, 'release-2.0.0');
    assert.equal(json.next, 'release-2.0.1');
  });

  const refusals: { name: string; setup: () => string[]; code: RegExp }[] = [
    {
      name: 'a directory that is not a repository',
      setup: () => ['--repo', mkdtempSync(path.join(root, 'plain-'))],
      code: /NOT_A_GIT_REPOSITORY/,
    },
    {
      name: 'a directory that does not exist',
      setup: () => ['--repo', path.join(root, 'missing')],
      code: /NOT_A_GIT_REPOSITORY/,
    },
    { name: 'an empty repository', setup: () => ['--repo', newRepo()], code: /EMPTY_REPOSITORY/ },
    { name: 'an unknown ref', setup: () => ['--repo', repo, '--ref', 'no-such-branch'], code: /UNKNOWN_REF/ },
    {
      name: 'a ref that looks like an option',
      setup: () => ['--repo', repo, '--ref=--output=x'],
      code: /UNKNOWN_REF/,
    },
    {
      name: 'an unknown preset',
      setup: () => ['--repo', repo, '--preset', 'eslint'],
      code: /INVALID_OPTION/,
    },
    {
      name: 'a shallow clone',
      setup: () => {
        const clone = path.join(root, 'shallow');
        execFileSync('git', ['clone', '-q', '--depth', '1', `file://${repo}`, clone]);
        return ['--repo', clone];
      },
      code: /SHALLOW_CLONE: .*tags and older commits may be missing.*git fetch --unshallow --tags/,
    },
  ];
  for (const { name, setup, code } of refusals) {
    it(`refuses ${name} in one line with a non-zero exit`, async () => {
      const result = await run('next-version', ...setup());
      assert.notEqual(result.code, 0);
      assert.equal(result.out, '');
      assert.equal(result.err.split('\n').length, 1, result.err);
      assert.match(result.err, code);
    });
  }

  it('works through the real bin', () => {
    const bin = path.join(__dirname, '..', '..', 'bin', 'release-flow.js');
    const result = spawnSync(process.execPath, [bin, 'next-version', '--repo', repo, '--json'], {
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as Json).next, 'v1.3.0');
    const bad = spawnSync(process.execPath, [bin, 'next-version', '--repo', root], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /NOT_A_GIT_REPOSITORY/);
  });
});

describe('release-flow check-pr', () => {
  let repo: string;
  before(() => {
    repo = newRepo();
    commit(repo, 'chore: init');
    git(repo, 'checkout', '-q', '-b', 'nyefan/JIRA-1234');
    commit(repo, 'feat(JIRA-1234): add the thing');
    commit(repo, 'fix(JIRA-1234): handle empty input');
    git(repo, 'checkout', '-q', '-b', 'nyefan/JIRA-7', 'main');
    commit(repo, 'feat(JIRA-8): wrong ticket');
    commit(repo, 'oops no header');
    git(repo, 'checkout', '-q', 'main');
    commit(repo, 'docs: main moved on');
    git(repo, 'checkout', '-q', '-b', 'rebased/JIRA-1234');
    commit(repo, 'feat(JIRA-1234): on top of main');
    git(repo, 'checkout', '-q', 'main');
  });

  it('passes a clean, rebased branch with exit 0', async () => {
    const result = await run('check-pr', '--repo', repo, '--branch', 'rebased/JIRA-1234');
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(result.out, /rebased\/JIRA-1234 against main \(1 commit\): OK/);
  });

  it('prints every violation with commit and rule, exit 1', async () => {
    const result = await run('check-pr', '--repo', repo, '--branch', 'nyefan/JIRA-7', '--json');
    assert.equal(result.code, 1);
    const json = JSON.parse(result.out) as { ok: boolean; violations: { rule: string; sha?: string }[] };
    assert.equal(json.ok, false);
    assert.deepEqual(
      json.violations.map((v) => v.rule),
      ['rebased', 'commit-scope', 'commit-header'],
    );
    assert.ok(json.violations.slice(1).every((v) => v.sha?.length === 40));
    const text = await run('check-pr', '--repo', repo, '--branch', 'nyefan/JIRA-7');
    assert.equal(text.code, 1);
    assert.match(text.out, /3 violations/);
    assert.match(
      text.out,
      /commit-scope +[0-9a-f]{7} feat\(JIRA-8\): wrong ticket: scope `JIRA-8` is not the ticket JIRA-7/,
    );
  });

  it('a branch that is not rebased on the moved base fails the rebase rule only', async () => {
    const result = await run('check-pr', '--repo', repo, '--branch', 'nyefan/JIRA-1234', '--json');
    assert.equal(result.code, 1);
    assert.deepEqual(
      (JSON.parse(result.out) as { violations: { rule: string }[] }).violations.map((v) => v.rule),
      ['rebased'],
    );
  });

  it('a merge commit on the branch is a violation', async () => {
    const dir = newRepo();
    commit(dir, 'chore: init');
    git(dir, 'checkout', '-q', '-b', 'me/AB-1');
    commit(dir, 'feat(AB-1): a');
    git(dir, 'checkout', '-q', 'main');
    commit(dir, 'docs: b');
    git(dir, 'checkout', '-q', 'me/AB-1');
    git(dir, 'merge', '-q', '--no-ff', '-m', "Merge branch 'main' into me/AB-1", 'main');
    const result = await run('check-pr', '--repo', dir, '--branch', 'me/AB-1', '--json');
    assert.equal(result.code, 1);
    assert.deepEqual(
      (JSON.parse(result.out) as { violations: { rule: string }[] }).violations.map((v) => v.rule),
      ['merge-commit'],
    );
  });

  it('refuses a branch equal to the base, and an unknown branch', async () => {
    for (const argv of [
      ['--branch', 'main'],
      ['--branch', 'main', '--base', 'main'],
      ['--branch', 'no/SUCH-1'],
    ]) {
      const result = await run('check-pr', '--repo', repo, ...argv);
      assert.notEqual(result.code, 0);
      assert.notEqual(result.code, 1, 'a refusal is not a policy verdict');
      assert.equal(result.err.split('\n').length, 1, result.err);
      assert.match(result.err, /BRANCH_IS_BASE|UNKNOWN_REF/);
    }
    const same = newRepo();
    commit(same, 'chore: init');
    git(same, 'branch', 'me/AB-1');
    const result = await run('check-pr', '--repo', same, '--branch', 'me/AB-1');
    assert.match(result.err, /BRANCH_IS_BASE: me\/AB-1 and main are the same commit/);
  });
});

describe('release-flow start pr-gate: what the command line must say', () => {
  const configFile = path.join(root, 'pr-gate-config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      stateDir: path.join(root, 'pr-gate-state'),
      repositories: [
        { name: 'acme/app', path: path.join(root, 'nowhere') },
        { name: 'remote-only', github: { enabled: false } },
      ],
    }),
  );

  it("a repository GitHub serves needs --number: its numbers are GitHub's", async () => {
    const saved = process.env.GITHUB_TOKEN;
    process.env.GITHUB_TOKEN = 'ghp_for-the-selection-only';
    try {
      const result = await run(
        'start',
        'pr-gate',
        '--repo',
        'acme/app',
        '--branch',
        'ana/APP-1',
        '--config',
        configFile,
      );
      assert.equal(result.code, 2);
      assert.match(result.err, /PR_NUMBER_REQUIRED: acme\/app is served by GitHub .*pass --number/);
    } finally {
      if (saved === undefined) delete process.env.GITHUB_TOKEN;
      else process.env.GITHUB_TOKEN = saved;
    }
  });

  it('a repository without a local path needs --sha and --number', async () => {
    const result = await run(
      'start',
      'pr-gate',
      '--repo',
      'remote-only',
      '--branch',
      'ana/APP-1',
      '--config',
      configFile,
    );
    assert.equal(result.code, 2);
    assert.match(result.err, /PR_HEAD_UNKNOWN: .*pass --sha with the head commit and --number/);
  });
});
