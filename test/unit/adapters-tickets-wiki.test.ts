import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MarkdownTickets } from '../../src/adapters/local/markdown-tickets';
import { MarkdownWiki } from '../../src/adapters/local/markdown-wiki';
import { renderRetrospective } from '../../src/domain/retrospective-template';
import { DefinitiveFailure, FailureTypes } from '../../src/domain/failures';

function failsWith(type: string) {
  return (err: unknown) => err instanceof DefinitiveFailure && err.type === type;
}

describe('markdown tickets and wiki', () => {
  let root: string;
  let ticketsDir: string;
  let wikiDir: string;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'rf-docs-'));
    ticketsDir = path.join(root, 'tickets');
    wikiDir = path.join(root, 'wiki');
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const hot = (key: string) => ({
    key,
    kind: 'HOT' as const,
    title: 'acme/app v1.4.0 breaks production',
    body: 'Decided by ana.',
  });

  it('numbers tickets HOT-1, HOT-2 and a retry finds its own ticket', async () => {
    const tickets = new MarkdownTickets(ticketsDir);
    const first = await tickets.open(hot('acme/app/v1.4.0/emergency'));
    assert.deepEqual([first.id, first.created], ['HOT-1', true]);
    const retry = await tickets.open(hot('acme/app/v1.4.0/emergency'));
    assert.deepEqual([retry.id, retry.created], ['HOT-1', false]);
    const second = await tickets.open(hot('acme/app/v1.5.0/emergency'));
    assert.equal(second.id, 'HOT-2');
    assert.equal(second.url, `file://${path.join(ticketsDir, 'HOT-2.md')}`);
    const ticket = await tickets.get('HOT-1');
    assert.equal(ticket?.title, 'acme/app v1.4.0 breaks production');
    assert.match(ticket!.markdown, /^# HOT-1: acme\/app v1.4.0 breaks production\n\n- Status: open\n/);
    assert.equal(await tickets.get('HOT-99'), null);
  });

  it('numbering survives a restart and never reuses a deleted number', async () => {
    await unlink(path.join(ticketsDir, 'HOT-2.md'));
    const restarted = new MarkdownTickets(ticketsDir);
    assert.equal((await restarted.open(hot('acme/app/v1.6.0/emergency'))).id, 'HOT-3');
    // A file someone wrote by hand counts too.
    await writeFile(path.join(ticketsDir, 'HOT-7.md'), '# HOT-7: by hand\n');
    assert.equal((await restarted.open(hot('acme/app/v1.7.0/emergency'))).id, 'HOT-8');
  });

  it('concurrent openings get distinct numbers, and concurrent retries of one key get one ticket', async () => {
    const dir = path.join(root, 'race');
    const a = new MarkdownTickets(dir);
    const b = new MarkdownTickets(dir);
    const refs = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).open(hot(i < 4 ? 'same' : `key-${i}`))),
    );
    const sameIds = new Set(refs.slice(0, 4).map((r) => r.id));
    assert.equal(sameIds.size, 1);
    assert.equal(refs.slice(0, 4).filter((r) => r.created).length, 1);
    const ids = new Set(refs.map((r) => r.id));
    assert.equal(ids.size, 5);
    assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.md')).sort(), [
      'HOT-1.md',
      'HOT-2.md',
      'HOT-3.md',
      'HOT-4.md',
      'HOT-5.md',
    ]);
  });

  it('updates are appended once per key', async () => {
    const tickets = new MarkdownTickets(ticketsDir, () => Date.UTC(2025, 0, 1));
    assert.deepEqual(
      await tickets.comment({ id: 'HOT-1', key: 'hotfix-deployed', markdown: 'v1.4.1 deployed' }),
      { added: true },
    );
    assert.deepEqual(
      await tickets.comment({ id: 'HOT-1', key: 'hotfix-deployed', markdown: 'v1.4.1 deployed' }),
      { added: false },
    );
    const markdown = (await tickets.get('HOT-1'))!.markdown;
    assert.equal(markdown.split('v1.4.1 deployed').length, 2);
    assert.match(markdown, /## Updates[\s\S]*### 2025-01-01T00:00:00.000Z\n\nv1.4.1 deployed\n$/);
    await assert.rejects(
      tickets.comment({ id: 'HOT-404', key: 'x', markdown: 'y' }),
      failsWith(FailureTypes.documentNotFound),
    );
    await assert.rejects(tickets.get('../../etc/passwd'), failsWith(FailureTypes.invalidReference));
  });

  it('a HOT page takes the ticket id; ROLLBACK pages are numbered by the wiki with the id in their content', async () => {
    const wiki = new MarkdownWiki(wikiDir);
    const retrospective = (id: string) =>
      renderRetrospective({
        id,
        kind: id.startsWith('HOT') ? 'HOT' : 'ROLLBACK',
        repository: 'acme/app',
        version: 'v1.4.0',
        trigger: 'error rate above 5% in 3 samples in a row',
        decision: { name: 'rollback', by: 'ana', at: Date.UTC(2025, 0, 1) },
        events: [],
      });
    const hotPage = await wiki.publish({
      key: 'hot-page/HOT-1',
      page: { id: 'HOT-1' },
      title: 'HOT-1',
      content: retrospective,
    });
    assert.deepEqual([hotPage.id, hotPage.created], ['HOT-1', true]);
    await assert.rejects(
      wiki.publish({ key: 'someone-else', page: { id: 'HOT-1' }, title: 'x', content: 'x' }),
      failsWith(FailureTypes.incidentIdTaken),
    );
    const r1 = await wiki.publish({
      key: 'acme/app/v1.4.0/rollback',
      page: { kind: 'ROLLBACK' },
      title: 'r',
      content: retrospective,
    });
    const r1again = await wiki.publish({
      key: 'acme/app/v1.4.0/rollback',
      page: { kind: 'ROLLBACK' },
      title: 'r',
      content: retrospective,
    });
    const r2 = await wiki.publish({
      key: 'acme/app/v1.5.0/rollback',
      page: { kind: 'ROLLBACK' },
      title: 'r',
      content: 'plain text',
    });
    assert.deepEqual(
      [r1.id, r1again.id, r1again.created, r2.id],
      ['ROLLBACK-1', 'ROLLBACK-1', false, 'ROLLBACK-2'],
    );
    assert.match((await wiki.read('ROLLBACK-1'))!.markdown, /^# ROLLBACK-1: Rollback of acme\/app v1.4.0/);
    assert.equal((await wiki.read('ROLLBACK-2'))!.markdown, '# ROLLBACK-2: r\n\nplain text');
    assert.deepEqual(await wiki.append({ id: 'HOT-1', key: 'timeline', markdown: '## Hotfix timeline\n' }), {
      added: true,
    });
    assert.deepEqual(await wiki.append({ id: 'HOT-1', key: 'timeline', markdown: '## Hotfix timeline\n' }), {
      added: false,
    });
    assert.equal(
      (await readFile(path.join(wikiDir, 'HOT-1.md'), 'utf8')).split('## Hotfix timeline').length,
      2,
    );
  });

  it('a retry after a crash between reserving and writing completes the same document', async () => {
    const dir = path.join(root, 'crash');
    const tickets = new MarkdownTickets(dir);
    await tickets.open(hot('crashing'));
    // Simulate the crash: the reservation survived, the file did not.
    await unlink(path.join(dir, 'HOT-1.md'));
    const retry = await tickets.open(hot('crashing'));
    assert.deepEqual([retry.id, retry.created], ['HOT-1', true]);
    assert.equal((await tickets.open(hot('next'))).id, 'HOT-2');
  });
});
