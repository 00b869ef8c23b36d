import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfluenceWiki } from '../../src/adapters/confluence/confluence-wiki';
import { AtlassianUnavailable } from '../../src/adapters/jira/atlassian-client';
import { confluenceClient, jiraClient } from '../../src/adapters/jira/credentials';
import { JiraTickets, type JiraConfig } from '../../src/adapters/jira/jira-tickets';
import { maskSecrets } from '../../src/common/secrets';
import { renderRetrospective } from '../../src/domain/retrospective-template';
import { isUserError } from '../../src/common/errors';
import { DefinitiveFailure, FailureTypes } from '../../src/domain/failures';
import { FakeConfluence } from '../helpers/fake-confluence';
import { FakeJira, type Deployment } from '../helpers/fake-jira';

const fast = { msPerSecond: 5, maxRetryAfterMs: 1000 };

/** A user error whose rendered line (message and fix) matches. */
function refused(pattern: RegExp) {
  return (err: unknown) => isUserError(err) && pattern.test(err.render());
}

function settings(fake: FakeJira, extra: Partial<JiraConfig> = {}): JiraConfig {
  return {
    url: fake.url,
    deployment: fake.deployment,
    project: 'OPS',
    issueType: 'Incident',
    priorities: { emergency: 'Highest', rollback: 'High' },
    labels: ['sev-1'],
    doneTransition: 'Done',
    prGate: false,
    ...extra,
  };
}

const request = {
  key: 'acme/shop/v1.4.0/emergency/ticket',
  kind: 'HOT' as const,
  title: 'acme/shop v1.4.0: emergency declared by ana',
  body: '## Decision\n\n- Decision: **emergency** by ana at 2026-12-01T10:00:00Z\n- Reason given: checkout 500s\n\n[run](http://ui/run)',
  labels: ['release-flow', 'sev-1'],
};

for (const deployment of ['cloud', 'data-center'] as Deployment[]) {
  describe(`Jira tickets (${deployment})`, () => {
    const fake = new FakeJira(deployment);
    let tickets: JiraTickets;
    before(async () => {
      await fake.start();
      tickets = new JiraTickets(jiraClient(settings(fake), fake.env(), fast), settings(fake));
    });
    after(() => fake.stop());

    it('opens HOT-<n> one past the highest known, with type, priority, labels and the description format of the deployment', async () => {
      const old = fake.addIssue('OPS-5', 'HOT-4: an old outage', 'done');
      old.labels = ['release-flow', 'HOT-4'];
      const opened = await tickets.open(request);
      assert.equal(opened.id, 'HOT-5');
      assert.equal(opened.created, true);
      const issue = fake.issue('HOT-5')!;
      assert.equal(opened.url, `${fake.url}/browse/${issue.key}`);
      assert.equal(issue.summary, `HOT-5: ${request.title}`);
      assert.equal(issue.issueType, 'Incident');
      assert.equal(issue.priority, 'Highest');
      assert.ok(
        issue.labels.includes('release-flow') &&
          issue.labels.includes('HOT-5') &&
          issue.labels.includes('sev-1'),
      );
      if (deployment === 'cloud') {
        const text = JSON.stringify(issue.description);
        assert.match(text, /"type":"doc"/);
        assert.match(text, /"marks":\[\{"type":"strong"\}\]/);
        assert.match(text, /"href":"http:\/\/ui\/run"/);
      } else {
        assert.match(issue.description as string, /h2\. Decision/);
        assert.match(issue.description as string, /\*emergency\*/);
        assert.match(issue.description as string, /\[run\|http:\/\/ui\/run\]/);
      }
      const auth = fake.requests.at(-1)!.authorization!;
      assert.match(auth, deployment === 'cloud' ? /^Basic / : /^Bearer /);
      assert.ok(!maskSecrets(`header ${auth}`, {}).includes(auth.split(' ')[1]!), 'the header is masked');
      assert.deepEqual(await tickets.open(request), { ...opened, created: false });
      assert.equal(fake.issues.filter((i) => i.labels.includes('release-flow')).length, 2);
    });

    it('comments once per key, closes with the configured transition once, and reads it all back', async () => {
      assert.deepEqual(
        await tickets.comment({ id: 'HOT-5', key: 't/1', markdown: 'hotfix **v1.4.1** healthy' }),
        { added: true },
      );
      assert.deepEqual(
        await tickets.comment({ id: 'HOT-5', key: 't/1', markdown: 'hotfix **v1.4.1** healthy' }),
        { added: false },
      );
      assert.deepEqual(await tickets.close({ id: 'HOT-5', key: 't/close', markdown: 'incident closed' }), {
        closed: true,
      });
      assert.equal(fake.issue('HOT-5')!.status.name, 'Done');
      assert.deepEqual(await tickets.close({ id: 'HOT-5', key: 't/close', markdown: 'incident closed' }), {
        closed: false,
      });
      assert.equal(fake.issue('HOT-5')!.comments.length, 2);
      const ticket = (await tickets.get('HOT-5'))!;
      assert.match(ticket.markdown, /Status: Done/);
      assert.match(ticket.markdown, /v1\.4\.1/);
      assert.match(ticket.markdown, /incident closed/);
      assert.equal(await tickets.get('HOT-99'), null);
      await assert.rejects(
        tickets.comment({ id: 'HOT-99', key: 'x', markdown: 'x' }),
        (err: unknown) => err instanceof DefinitiveFailure && err.type === FailureTypes.documentNotFound,
      );
    });

    it('a transition that does not exist names jira.doneTransition and what the issue offers', async () => {
      const other = new JiraTickets(
        jiraClient(settings(fake), fake.env(), fast),
        settings(fake, { doneTransition: 'Resolve' }),
      );
      const opened = await other.open({ ...request, key: 'another' });
      await assert.rejects(other.close({ id: opened.id, key: 'c', markdown: 'done' }), (err: unknown) => {
        assert.ok(isUserError(err));
        assert.equal(err.code, 'JIRA_TRANSITION_MISSING');
        assert.match(err.render(), /"Resolve".*"Start Progress", "Done".*jira\.doneTransition/);
        return true;
      });
    });

    it('a 400 quotes errors and names the setting; a 403 names the permission; a 401 the env vars', async () => {
      const bad = new JiraTickets(
        jiraClient(settings(fake), fake.env(), fast),
        settings(fake, { issueType: 'Epic', priorities: { emergency: 'P0', rollback: 'High' } }),
      );
      await assert.rejects(bad.open({ ...request, key: 'bad' }), (err: unknown) => {
        assert.ok(isUserError(err));
        assert.equal(err.code, 'JIRA_REFUSED');
        assert.match(err.render(), /issuetype: Specify a valid issue type/);
        assert.match(err.render(), /jira\.issueType, jira\.priorities\.emergency/);
        return true;
      });
      fake.denied.add('CREATE_ISSUES');
      await assert.rejects(
        tickets.open({ ...request, key: 'denied' }),
        refused(/needs the "Create issues" permission/),
      );
      fake.denied.clear();
      const wrong = new JiraTickets(
        jiraClient(
          settings(fake),
          deployment === 'cloud' ? { JIRA_EMAIL: 'x@y', JIRA_API_TOKEN: 'nope' } : { JIRA_PAT: 'nope' },
          fast,
        ),
        settings(fake),
      );
      await assert.rejects(
        wrong.open({ ...request, key: 'wrong' }),
        refused(
          deployment === 'cloud'
            ? /JIRA_UNAUTHORIZED.*JIRA_EMAIL and JIRA_API_TOKEN/
            : /JIRA_UNAUTHORIZED.*JIRA_PAT/,
        ),
      );
      assert.throws(() => jiraClient(settings(fake), {}), refused(/JIRA_CREDENTIALS_MISSING/));
    });

    it('waits out a 429 with Retry-After, and leaves a longer outage to the retry policy', async () => {
      fake.rateLimited = { count: 2, retryAfter: '2' };
      const found = await tickets.lookup(fake.issue('HOT-5')!.key);
      assert.equal(found?.done, true);
      fake.unavailable = 1;
      await assert.rejects(
        tickets.lookup('OPS-1'),
        (err: unknown) => err instanceof AtlassianUnavailable && /retried/.test(err.message),
      );
      fake.rateLimited = { count: 10, retryAfter: '3600' };
      await assert.rejects(
        tickets.lookup('OPS-1'),
        (err: unknown) => err instanceof AtlassianUnavailable && /Retry-After 3600/.test(err.message),
      );
      fake.rateLimited.count = 0;
    });

    it('looks tickets up and links a pull request once per key', async () => {
      fake.addIssue('JIRA-1234', 'Checkout button', 'progress');
      assert.deepEqual(await tickets.lookup('JIRA-1234'), {
        key: 'JIRA-1234',
        url: `${fake.url}/browse/JIRA-1234`,
        summary: 'Checkout button',
        status: 'In Progress',
        done: false,
      });
      assert.equal(await tickets.lookup('JIRA-9'), null);
      const link = {
        ticket: 'JIRA-1234',
        key: 'acme/shop#7',
        url: 'https://github.example/acme/shop/pull/7',
        title: 'acme/shop#7',
      };
      assert.deepEqual(await tickets.link(link), { linked: true });
      assert.deepEqual(await tickets.link({ ...link, title: 'acme/shop#7 (updated)' }), { linked: true });
      const issue = fake.issues.find((i) => i.key === 'JIRA-1234')!;
      assert.equal(issue.remoteLinks.length, 1);
      assert.equal(issue.remoteLinks[0]!.object.title, 'acme/shop#7 (updated)');
      assert.deepEqual(await tickets.link({ ...link, ticket: 'JIRA-9' }), { linked: false });
    });
  });
}

describe('Confluence retrospective pages', () => {
  const fake = new FakeConfluence();
  let wiki: ConfluenceWiki;
  const config = () => ({ url: fake.wikiUrl, space: 'OPS', parentPageId: fake.parentId });
  const retrospective = (id: string) =>
    renderRetrospective({
      id,
      kind: 'HOT',
      repository: 'acme/shop',
      version: 'v1.4.0',
      trigger: 'breach: error rate 12%',
      decision: {
        name: 'emergency',
        by: 'ana',
        at: Date.parse('2026-12-01T10:00:00Z'),
        reason: 'checkout <500s> & more',
      },
      events: [{ at: Date.parse('2026-12-01T09:58:00Z'), what: 'deployed v1.4.0 | production' }],
    });
  before(async () => {
    await fake.start();
    wiki = new ConfluenceWiki(confluenceClient(config(), fake.env(), fast), config());
  });
  after(() => fake.stop());

  it('publishes the template as a storage-format page under the parent, once per key', async () => {
    fake.addPage('ROLLBACK-2: an older rollback', fake.parentId);
    fake.addPage('Team notes', fake.parentId);
    const req = {
      key: 'k/wiki',
      page: { id: 'HOT-5' },
      title: 'Emergency hotfix of acme/shop v1.4.0',
      content: retrospective,
    };
    const ref = await wiki.publish(req);
    assert.equal(ref.id, 'HOT-5');
    assert.equal(ref.created, true);
    const page = fake.byTitle('HOT-5: ')!;
    assert.equal(page.parentId, fake.parentId);
    assert.equal(page.title, 'HOT-5: Emergency hotfix of acme/shop v1.4.0');
    assert.match(ref.url, new RegExp(`/wiki/spaces/OPS/pages/${page.id}/`));
    const value = page.versions[0]!.value;
    assert.match(value, /<h2>Summary<\/h2>/);
    assert.match(value, /<th>Time<\/th>/);
    assert.match(value, /checkout &lt;500s&gt; &amp; more/);
    assert.match(value, /deployed v1\.4\.0 \| production/);
    assert.doesNotMatch(value, /<h1>/, 'the page title is the heading');
    assert.deepEqual(await wiki.publish(req), { ...ref, created: false });
    await assert.rejects(
      wiki.publish({ ...req, key: 'someone else' }),
      (err: unknown) => err instanceof DefinitiveFailure && err.type === FailureTypes.incidentIdTaken,
    );
    const rollback = await wiki.publish({
      key: 'k/rb',
      page: { kind: 'ROLLBACK' },
      title: 'Rollback',
      content: (id) => `# ${id}: Rollback\n\nbody`,
    });
    assert.equal(rollback.id, 'ROLLBACK-3');
    assert.deepEqual(
      await wiki.publish({ key: 'k/rb', page: { kind: 'ROLLBACK' }, title: 'Rollback', content: 'x' }),
      { ...rollback, created: false },
    );
  });

  it('adds the timeline as a new version of the same page, re-reading after a 409 and once per key', async () => {
    const page = fake.byTitle('HOT-5: ')!;
    fake.concurrentEdits = 1;
    assert.deepEqual(
      await wiki.append({ id: 'HOT-5', key: 't/1', markdown: '## Hotfix\n\n- v1.4.1 healthy' }),
      { added: true },
    );
    assert.deepEqual(
      page.versions.map((v) => v.number),
      [1, 2, 3],
    );
    const latest = page.versions.at(-1)!.value;
    assert.match(latest, /note by ana/, 'the concurrent edit is kept');
    assert.match(latest, /<li>v1\.4\.1 healthy<\/li>/);
    assert.deepEqual(
      await wiki.append({ id: 'HOT-5', key: 't/1', markdown: '## Hotfix\n\n- v1.4.1 healthy' }),
      { added: false },
    );
    assert.equal(page.versions.length, 3);
    assert.equal([...fake.pages.values()].filter((p) => p.title.startsWith('HOT-5')).length, 1);
    const read = (await wiki.read('HOT-5'))!;
    assert.match(read.markdown, /## Summary/);
    assert.match(read.markdown, /v1\.4\.1 healthy/);
    assert.equal(await wiki.read('HOT-77'), null);
  });

  it('names the space, the parent page and the permission when they are wrong', async () => {
    const missingSpace = new ConfluenceWiki(
      confluenceClient({ ...config(), space: 'NOPE' }, fake.env(), fast),
      { ...config(), space: 'NOPE' },
    );
    await assert.rejects(
      missingSpace.publish({ key: 'a', page: { id: 'HOT-9' }, title: 't', content: 'x' }),
      refused(/confluence\.space/),
    );
    const missingParent = new ConfluenceWiki(
      confluenceClient({ ...config(), parentPageId: '1' }, fake.env(), fast),
      { ...config(), parentPageId: '1' },
    );
    await assert.rejects(
      missingParent.publish({ key: 'a', page: { id: 'HOT-9' }, title: 't', content: 'x' }),
      refused(/confluence\.parentPageId/),
    );
    fake.denied.add('create:page');
    await assert.rejects(
      wiki.publish({ key: 'b', page: { id: 'HOT-9' }, title: 't', content: 'x' }),
      refused(/needs the "Add page" permission/),
    );
    fake.denied.clear();
    fake.rateLimited = { count: 1, retryAfter: '1' };
    assert.ok(await wiki.read('HOT-5'));
  });
});
