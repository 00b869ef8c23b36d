import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main';
import { FakeGitHub, pointGitHubEnvAt, type FakeRepo } from '../helpers/fake-github';

describe('release-flow github setup', () => {
  const fake = new FakeGitHub();
  let restoreEnv = () => {};
  let repo: FakeRepo;
  let n = 0;

  async function run(...args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['node', 'release-flow', ...args], {
      out: (s) => out.push(s),
      err: (s) => err.push(s),
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  before(async () => {
    await fake.start();
    restoreEnv = pointGitHubEnvAt(fake);
  });
  after(async () => {
    await fake.stop();
    restoreEnv();
  });
  beforeEach(() => {
    repo = fake.repo('acme', `app${++n}`);
    fake.commit(repo, 'feat(APP-1): first', { branch: 'main' });
    fake.journal.length = 0;
  });

  it('with --dry-run reads the settings, prints what it would change and sends nothing', async () => {
    const result = await run('github', 'setup', `acme/${repo.name}`, '--dry-run');
    assert.equal(result.code, 0, result.err);
    assert.deepEqual(fake.writes(), []);
    assert.ok(fake.journal.length > 0);
    assert.match(result.out, /would change 6 settings \(dry run: nothing sent\)/);
    assert.match(result.out, /allow_squash_merge: true -> false/);
    assert.match(result.out, /allow_rebase_merge: true -> false/);
    assert.match(result.out, /branch protection of main: require branches to be up to date: false -> true/);
    assert.equal(repo.settings.allow_squash_merge, true);
    assert.equal(repo.protection.size, 0);
  });

  it('allows merge commits only and protects main with reviews, the release-flow status and up-to-date branches', async () => {
    const result = await run('github', 'setup', `acme/${repo.name}`, '--approvals', '2');
    assert.equal(result.code, 0, result.err);
    const writes = fake.writes();
    assert.deepEqual(
      writes.map((w) => `${w.method} ${w.path}`),
      [`PATCH /repos/acme/${repo.name}`, `PUT /repos/acme/${repo.name}/branches/main/protection`],
    );
    assert.deepEqual(writes[0]!.body, {
      allow_squash_merge: false,
      allow_rebase_merge: false,
      allow_merge_commit: true,
    });
    const protection = writes[1]!.body as Record<string, unknown>;
    assert.deepEqual(protection.required_status_checks, { strict: true, contexts: ['release-flow/policy'] });
    assert.deepEqual(protection.required_pull_request_reviews, {
      required_approving_review_count: 2,
      dismiss_stale_reviews: false,
      require_code_owner_reviews: false,
      require_last_push_approval: false,
    });
    assert.equal(protection.required_linear_history, false);
    assert.equal(protection.restrictions, null);
    assert.equal(repo.settings.allow_merge_commit, true);
    assert.equal(repo.settings.allow_rebase_merge, false);

    fake.journal.length = 0;
    const again = await run('github', 'setup', `acme/${repo.name}`, '--approvals', '2');
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /already set up, nothing to change/);
    assert.deepEqual(fake.writes(), []);
  });

  it("protects GitHub's default branch, and requires release-flow/build when the configured repository builds", async () => {
    repo.settings.default_branch = 'trunk';
    fake.commit(repo, 'feat(APP-2): trunk', { branch: 'trunk' });
    fake.commit(repo, 'feat(APP-3): release', { branch: 'release' });
    const plain = await run('github', 'setup', `acme/${repo.name}`, '--dry-run', '--json');
    assert.equal(plain.code, 0, plain.err);
    const plan = JSON.parse(plain.out) as {
      branch: string;
      changes: Array<{ setting: string; to: unknown }>;
    };
    assert.equal(plan.branch, 'trunk');

    const dir = mkdtempSync(path.join(tmpdir(), 'rf-setup-'));
    const configFile = path.join(dir, 'release-flow.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        repositories: [
          { name: `acme/${repo.name}`, defaultBranch: 'release', commands: { unitTests: [['npm', 'test']] } },
        ],
      }),
    );
    const configured = await run('github', 'setup', `acme/${repo.name}`, '--config', configFile);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(configured.code, 0, configured.err);
    const protect = fake.writes().find((w) => w.method === 'PUT')!;
    assert.equal(protect.path, `/repos/acme/${repo.name}/branches/release/protection`);
    assert.deepEqual((protect.body as { required_status_checks: unknown }).required_status_checks, {
      strict: true,
      contexts: ['release-flow/policy', 'release-flow/build'],
    });
  });

  it('keeps contexts and settings it does not own, and lifts linear history, which forbids merge commits', async () => {
    repo.settings.allow_squash_merge = false;
    repo.settings.allow_rebase_merge = false;
    repo.protection.set('main', {
      required_status_checks: {
        strict: false,
        contexts: ['ci/lint'],
        checks: [{ context: 'ci/lint', app_id: null }],
      },
      enforce_admins: { enabled: true },
      required_pull_request_reviews: { required_approving_review_count: 3, dismiss_stale_reviews: true },
      required_linear_history: { enabled: true },
    });
    const result = await run(
      'github',
      'setup',
      `acme/${repo.name}`,
      '--context',
      'release-flow/policy',
      '--context',
      'release-flow/build',
      '--json',
    );
    assert.equal(result.code, 0, result.err);
    const plan = JSON.parse(result.out) as {
      dryRun: boolean;
      mergeSettings: unknown;
      changes: Array<{ setting: string }>;
    };
    assert.equal(plan.dryRun, false);
    assert.equal(plan.mergeSettings, null);
    const writes = fake.writes();
    assert.equal(writes.length, 1);
    const body = writes[0]!.body as {
      required_status_checks: unknown;
      enforce_admins: boolean;
      required_pull_request_reviews: {
        required_approving_review_count: number;
        dismiss_stale_reviews: boolean;
      };
      required_linear_history: boolean;
    };
    assert.deepEqual(body.required_status_checks, {
      strict: true,
      contexts: ['ci/lint', 'release-flow/policy', 'release-flow/build'],
    });
    assert.equal(body.enforce_admins, true);
    assert.equal(body.required_pull_request_reviews.required_approving_review_count, 3);
    assert.equal(body.required_pull_request_reviews.dismiss_stale_reviews, true);
    assert.equal(body.required_linear_history, false);
  });

  it('names the missing permission, exits 2, and never prints the token', async () => {
    fake.deny({ method: 'PUT', path: /\/protection$/, permission: 'administration=write' });
    const result = await run('github', 'setup', `acme/${repo.name}`);
    assert.equal(result.code, 2);
    assert.match(
      result.err,
      /GITHUB_PERMISSION: GitHub refused to protect main in acme\/app\d+: the token needs administration: write/,
    );
    assert.ok(!`${result.out}${result.err}`.includes(fake.token));
    const bad = await run('github', 'setup', 'not a repo');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /INVALID_REPOSITORY/);
  });
});
