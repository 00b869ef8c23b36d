import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalIncidents } from '../../src/adapters/local/local-incidents';
import { MarkdownTickets } from '../../src/adapters/local/markdown-tickets';
import { MarkdownWiki } from '../../src/adapters/local/markdown-wiki';
import { DefinitiveFailure, FailureTypes } from '../../src/domain/failures';
import type { Tickets } from '../../src/ports/tickets';
import { HOTFIX_REPO, hotfixClone, openHotfixIncident } from '../helpers/open-hotfix-incident';

const REPO = HOTFIX_REPO;

// A healthy hotfix closes its incident whatever the emergency managed to file: a ticket or page
// refused for good, or a comment the tracker will not take, never keeps the incident open.
describe('closing an incident whose documents were never filed', () => {
  let root = '';
  let commit = '';
  let clone = '';

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'rf-hotfix-close-'));
    ({ clone, commit } = hotfixClone(root));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function closeWith(dir: string, tickets: Tickets, wiki: MarkdownWiki) {
    const hotfix = await openHotfixIncident({ dir, clone, tickets, wiki });
    const result = await hotfix.closeIncident({
      repository: REPO,
      id: 'HOT-1',
      version: 'v1.4.1',
      commit,
      healthyAt: '2026-12-08T02:00:00.000Z',
      workflowId: 'production:acme/shop:v1.4.1',
    });
    return { result, record: await new LocalIncidents(dir).get(REPO, 'HOT-1'), hotfix };
  }

  it('no ticket and no wiki page: the incident closes, saying neither was updated', async () => {
    const dir = path.join(root, 'none');
    const { result, record } = await closeWith(
      dir,
      new MarkdownTickets(path.join(dir, 'tickets')),
      new MarkdownWiki(path.join(dir, 'wiki')),
    );
    assert.equal(result.ticketClosed, false);
    assert.equal(result.wikiUpdated, false);
    assert.equal(record?.state, 'closed');
  });

  it('a comment refused for good does not keep the ticket open', async () => {
    const dir = path.join(root, 'refused-comment');
    const markdown = new MarkdownTickets(path.join(dir, 'tickets'));
    const opened = await markdown.open({
      key: 'hot/acme/shop/v1.4.0',
      kind: 'HOT',
      title: 'v1.4.0 broke',
      body: '',
    });
    assert.equal(opened.id, 'HOT-1');
    const wiki = new MarkdownWiki(path.join(dir, 'wiki'));
    await wiki.publish({ key: 'hot/acme/shop/v1.4.0', page: { id: 'HOT-1' }, title: 'HOT-1', content: '' });
    const tickets: Tickets = Object.assign(Object.create(markdown) as Tickets, {
      comment: () =>
        Promise.reject(new DefinitiveFailure(FailureTypes.githubRefused, 'comments are not allowed here')),
    });
    const { result, record } = await closeWith(dir, tickets, wiki);
    assert.equal(result.ticketClosed, true);
    assert.equal(result.wikiUpdated, true);
    assert.equal(record?.state, 'closed');
  });

  it('a ticket filed after its incident closed (the tracker was away that long) is closed as it is linked', async () => {
    const dir = path.join(root, 'late-ticket');
    const tickets = new MarkdownTickets(path.join(dir, 'tickets'));
    const { result, hotfix } = await closeWith(dir, tickets, new MarkdownWiki(path.join(dir, 'wiki')));
    assert.equal(result.ticketClosed, false);
    // The emergency's follow-up files the ticket once the tracker answers, then links it.
    const late = await tickets.open({
      id: 'HOT-1',
      key: 'hot/acme/shop/v1.4.0',
      kind: 'HOT',
      title: 'v1.4.0 broke',
      body: '',
    });
    assert.equal(late.id, 'HOT-1');
    assert.match((await tickets.get('HOT-1'))?.markdown ?? '', /- Status: open/);
    const ref = await hotfix.linkIncidentDocuments({ repository: REPO, id: 'HOT-1', ticketUrl: late.url });
    assert.equal(ref.state, 'closed');
    assert.match((await tickets.get('HOT-1'))?.markdown ?? '', /- Status: closed/);
  });
});
