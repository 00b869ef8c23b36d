import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LocalIncidents } from '../../src/adapters/local/local-incidents';
import { MarkdownTickets } from '../../src/adapters/local/markdown-tickets';
import { nextFreePatch, nonPatchCommit, patchCandidates } from '../../src/domain/hotfix-rules';
import { checkPullRequest } from '../../src/domain/pr-policy';
import { routeEvent } from '../../src/http/webhooks/route-event';

describe('hotfix version: the next free patch on the deployed line', () => {
  const cases: [string, string[], string][] = [
    ['v1.4.0', [], 'v1.4.1'],
    ['v1.4.0', ['v1.4.1'], 'v1.4.2'],
    ['v1.4.0', ['v1.4.1', 'v1.4.2', 'v1.5.0', 'v2.0.0'], 'v1.4.3'],
    ['v1.4.2', ['v1.4.3'], 'v1.4.4'],
    ['2.0.9', [], '2.0.10'],
  ];
  for (const [deployed, taken, expected] of cases) {
    it(`${deployed} with ${taken.join(', ') || 'no tags'} taken -> ${expected}`, () => {
      assert.equal(nextFreePatch(deployed, taken), expected);
    });
  }
  it('never a version of another line, and candidates in order', () => {
    assert.deepEqual(patchCandidates('v1.4.0', 3), ['v1.4.1', 'v1.4.2', 'v1.4.3']);
    assert.throws(() => nextFreePatch('v1.4', []), /not a release version/);
  });
});

describe('hotfix commits: a feat or breaking commit fails, named', () => {
  const fix = {
    sha: 'a'.repeat(40),
    header: 'fix(HOT-1): stop the 500s',
    effect: 'patch' as const,
    merge: false,
    reason: 'r',
  };
  const feat = {
    sha: 'b'.repeat(40),
    header: 'feat(HOT-1): new checkout',
    effect: 'minor' as const,
    merge: false,
    reason: 'r',
  };
  const breaking = {
    sha: 'c'.repeat(40),
    header: 'fix(HOT-1): drop v1 API',
    effect: 'major' as const,
    merge: false,
    reason: 'r',
  };
  it('patches pass', () => assert.equal(nonPatchCommit([fix]), null));
  it('a feat commit is named', () => {
    const problem = nonPatchCommit([fix, feat]);
    assert.equal(problem?.sha, feat.sha);
    assert.match(
      problem!.message,
      /^commit bbbbbbbbbbbb "feat\(HOT-1\): new checkout" is a feature: a hotfix is a patch/,
    );
  });
  it('a breaking change is named as one', () => {
    assert.match(nonPatchCommit([breaking])!.message, /is a breaking change/);
  });
});

describe('PR policy for hotfix branches', () => {
  const commit = (message: string) => ({ sha: 'd'.repeat(40), message, parents: ['e'.repeat(40)] });
  it('accepts HOT-<n> with commits scoped HOT-<n>', () => {
    const verdict = checkPullRequest({
      branch: 'HOT-3',
      base: 'main',
      baseIsAncestor: true,
      commits: [commit('fix(HOT-3): stop the 500s')],
    });
    assert.deepEqual(verdict.violations, []);
    assert.equal(verdict.ok, true);
    assert.equal(verdict.ticket, 'HOT-3');
  });
  it('refuses a commit of a HOT branch scoped to another ticket', () => {
    const verdict = checkPullRequest({
      branch: 'HOT-3',
      base: 'main',
      baseIsAncestor: true,
      commits: [commit('fix(JIRA-1): stop the 500s')],
    });
    assert.equal(verdict.ok, false);
    assert.match(verdict.violations[0]!.message, /scope `JIRA-1` is not the ticket HOT-3/);
  });
});

describe('webhook routing of hotfix branches', () => {
  const repos = [{ name: 'acme/shop', defaultBranch: 'main', releaseTagPattern: '^v\\d+\\.\\d+\\.\\d+$' }];
  it('a push to HOT-<n> starts the hotfix pipeline hotfix:<repo>:HOT-<n>:<sha>', () => {
    const after = 'f'.repeat(40);
    const routing = routeEvent(
      'push',
      {
        repository: { full_name: 'acme/shop' },
        ref: 'refs/heads/HOT-2',
        before: '0'.repeat(39) + '1',
        after,
      },
      repos,
    );
    assert.equal(routing.kind, 'start');
    if (routing.kind !== 'start') return;
    assert.equal(routing.request.stage, 'hotfix');
    assert.equal(routing.request.workflowId, `hotfix:acme/shop:HOT-2:${after}`);
    assert.deepEqual(routing.request.input, { repository: 'acme/shop', branch: 'HOT-2', commit: after });
  });
  it('other branches still start nothing', () => {
    const routing = routeEvent(
      'push',
      { repository: { full_name: 'acme/shop' }, ref: 'refs/heads/HOT-x', after: 'f'.repeat(40) },
      repos,
    );
    assert.equal(routing.kind, 'ignore');
  });
});

describe('local incident records and ticket close', () => {
  it('opens once, updates under the lock, lists', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rf-incidents-'));
    const incidents = new LocalIncidents(dir);
    const record = {
      id: 'HOT-1',
      repository: 'acme/shop',
      branch: 'HOT-1',
      brokenVersion: 'v1.4.0',
      decision: { name: 'emergency', by: 'ana', at: '2026-01-01T00:00:00.000Z' },
      openedAt: '2026-01-01T00:00:00.000Z',
    };
    const opened = await incidents.open(record);
    assert.equal(opened.state, 'open');
    await incidents.open({ ...record, brokenVersion: 'v9.9.9' });
    assert.equal((await incidents.list()).length, 1, 'a second open returns the first record');
    await incidents.update('acme/shop', 'HOT-1', (r) => ({
      ...r,
      state: 'releasing',
      hotfixVersions: ['v1.4.1'],
    }));
    assert.deepEqual((await incidents.get('acme/shop', 'HOT-1'))?.hotfixVersions, ['v1.4.1']);
    await assert.rejects(
      incidents.update('acme/shop', 'HOT-9', (r) => r),
      /no incident HOT-9/,
    );
  });

  it('a markdown ticket closes once with the final update', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rf-tickets-'));
    const tickets = new MarkdownTickets(dir);
    const { id } = await tickets.open({ key: 'k', kind: 'HOT', title: 'shop v1.4.0 down', body: 'x' });
    assert.deepEqual(
      await tickets.close({ id, key: 'closed', markdown: '## Timeline\n\n- healthy v1.4.1' }),
      {
        closed: true,
      },
    );
    assert.deepEqual(await tickets.close({ id, key: 'closed', markdown: 'again' }), { closed: false });
    const text = await readFile(path.join(dir, `${id}.md`), 'utf8');
    assert.match(text, /- Status: closed/);
    assert.match(text, /healthy v1\.4\.1/);
    assert.doesNotMatch(text, /again/);
  });
});
