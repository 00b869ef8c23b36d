import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createGitHubClient, type GitHubClient } from '../../src/adapters/github/client';
import { GitHubContentsWiki } from '../../src/adapters/github/contents-wiki';
import { GitHubIssueTickets } from '../../src/adapters/github/github-issue-tickets';
import { renderRetrospective } from '../../src/domain/retrospective-template';
import { DefinitiveFailure, FailureTypes } from '../../src/domain/failures';
import { FakeGitHub } from '../helpers/fake-github';

function failsWith(type: string) {
  return (err: unknown) => err instanceof DefinitiveFailure && err.type === type;
}

describe('GitHub issues and contents wiki for an incident', () => {
  const fake = new FakeGitHub();
  let github: GitHubClient;
  const where = { owner: 'acme', repo: 'app' };
  const repo = fake.repo('acme', 'app');

  before(async () => {
    await fake.start();
    github = await createGitHubClient({ token: fake.token, baseUrl: fake.url, pace: false, waitScaleMs: 5 });
    fake.commit(repo, 'feat(APP-1): first', { branch: 'main' });
  });
  after(() => fake.stop());

  it('opens HOT-1 as a labelled, assigned issue once, numbering after existing incidents and ignoring others', async () => {
    // An unrelated issue and a closed earlier incident: numbers are shared with PRs, HOT numbers are not.
    repo.issues.push(
      {
        number: 1,
        title: 'Typo in README',
        body: '',
        labels: [],
        assignees: [],
        state: 'open',
        comments: [],
      },
      {
        number: 2,
        title: 'HOT-4: old outage',
        body: '',
        labels: ['release-flow'],
        assignees: [],
        state: 'closed',
        comments: [],
      },
    );
    repo.nextNumber = 3;
    const tickets = new GitHubIssueTickets(github, where, { labels: ['sev-1'], assignees: ['oncall-ana'] });
    const request = {
      key: 'acme/app/v1.4.0/emergency',
      kind: 'HOT' as const,
      title: 'acme/app v1.4.0 breaks production',
      body: 'Error rate 12% over 5 minutes. Decided by ana.',
      labels: ['incident'],
    };
    const opened = await tickets.open(request);
    assert.deepEqual(opened, { id: 'HOT-5', url: 'https://github.example/acme/app/issues/3', created: true });
    const issue = repo.issues.find((i) => i.number === 3)!;
    assert.equal(issue.title, 'HOT-5: acme/app v1.4.0 breaks production');
    assert.deepEqual(issue.labels, ['release-flow', 'sev-1', 'incident']);
    assert.deepEqual(issue.assignees, ['oncall-ana']);
    assert.match(issue.body, /Error rate 12%/);
    const again = await tickets.open(request);
    assert.deepEqual(again, { ...opened, created: false });
    assert.equal(repo.issues.length, 3);

    assert.deepEqual(
      await tickets.comment({ id: 'HOT-5', key: 'timeline-1', markdown: 'Hotfix v1.4.1 deployed.' }),
      {
        added: true,
      },
    );
    assert.deepEqual(
      await tickets.comment({ id: 'HOT-5', key: 'timeline-1', markdown: 'Hotfix v1.4.1 deployed.' }),
      {
        added: false,
      },
    );
    assert.equal(issue.comments.length, 1);
    const ticket = (await tickets.get('HOT-5'))!;
    assert.equal(ticket.title, 'acme/app v1.4.0 breaks production');
    assert.match(
      ticket.markdown,
      /^# HOT-5: acme\/app v1\.4\.0 breaks production[\s\S]*## Updates[\s\S]*Hotfix v1\.4\.1 deployed\./,
    );
    assert.equal(await tickets.get('HOT-99'), null);
    await assert.rejects(
      tickets.comment({ id: 'HOT-99', key: 'k', markdown: 'x' }),
      failsWith(FailureTypes.documentNotFound),
    );
  });

  it('publishes the retrospective page HOT-5 into the docs folder once, and refuses the id for another key', async () => {
    const wiki = new GitHubContentsWiki(github, where, { folder: 'docs/incidents' });
    const content = renderRetrospective({
      id: 'HOT-5',
      kind: 'HOT',
      repository: 'acme/app',
      version: '1.4.0',
      previousVersion: '1.3.2',
      trigger: 'error rate 12% over 5 minutes',
      decision: { name: 'emergency', by: 'ana', at: Date.UTC(2024, 4, 1, 10), reason: 'checkout is down' },
      events: [{ at: Date.UTC(2024, 4, 1, 9, 55), what: 'v1.4.0 deployed to production' }],
    });
    const request = {
      key: 'acme/app/v1.4.0/emergency',
      page: { id: 'HOT-5' },
      title: 'v1.4.0 outage',
      content,
    };
    const page = await wiki.publish(request);
    assert.deepEqual(page, {
      id: 'HOT-5',
      url: 'https://github.example/acme/app/blob/main/docs/incidents/HOT-5.md',
      created: true,
    });
    const file = repo.files.get('docs/incidents/HOT-5.md')!;
    assert.ok(file.text.includes(content.trim()));
    assert.deepEqual(await wiki.publish(request), { ...page, created: false });
    const puts = fake.requests('PUT').filter((e) => e.path.endsWith('/HOT-5.md'));
    assert.equal(puts.length, 1);
    assert.equal((puts[0]!.body as { message: string }).message, 'docs: HOT-5 v1.4.0 outage');
    await assert.rejects(
      wiki.publish({ ...request, key: 'someone-else' }),
      failsWith(FailureTypes.incidentIdTaken),
    );

    assert.deepEqual(
      await wiki.append({ id: 'HOT-5', key: 'timeline', markdown: '### Hotfix\n\n- v1.4.1 healthy' }),
      { added: true },
    );
    assert.deepEqual(
      await wiki.append({ id: 'HOT-5', key: 'timeline', markdown: '### Hotfix\n\n- v1.4.1 healthy' }),
      {
        added: false,
      },
    );
    const read = (await wiki.read('HOT-5'))!;
    assert.equal(read.markdown.split('- v1.4.1 healthy').length, 2);
    assert.equal(await wiki.read('HOT-6'), null);
  });

  it('numbers ROLLBACK pages from the folder, passing the id to the content, and a retry finds its page', async () => {
    const wiki = new GitHubContentsWiki(github, where, { folder: 'docs/incidents' });
    repo.files.set('docs/incidents/ROLLBACK-2.md', { text: '# ROLLBACK-2: old\n', sha: 'a'.repeat(40) });
    const request = {
      key: 'acme/app/v1.5.0/rollback',
      page: { kind: 'ROLLBACK' as const },
      title: 'v1.5.0 rolled back',
      content: (id: string) => `# ${id}: v1.5.0 rolled back\n\nBack to v1.4.1.\n`,
    };
    const page = await wiki.publish(request);
    assert.deepEqual([page.id, page.created], ['ROLLBACK-3', true]);
    assert.match(repo.files.get('docs/incidents/ROLLBACK-3.md')!.text, /# ROLLBACK-3: v1\.5\.0 rolled back/);
    const retry = await wiki.publish(request);
    assert.deepEqual([retry.id, retry.created], ['ROLLBACK-3', false]);
    const other = await wiki.publish({ ...request, key: 'acme/app/v1.6.0/rollback' });
    assert.equal(other.id, 'ROLLBACK-4');
  });
});
