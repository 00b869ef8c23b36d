import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AlertJournal } from '../../src/adapters/local/alert-journal';
import { decisionCommands, type Alert } from '../../src/ports/alerts';

describe('alert journal', () => {
  let root: string;
  let printed: string[];
  let journal: AlertJournal;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'rf-alerts-'));
    printed = [];
    journal = new AlertJournal({
      file: path.join(root, 'alerts.jsonl'),
      print: (text) => printed.push(text),
    });
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const breach = (key: string): Alert => ({
    key,
    team: 'development',
    severity: 'critical',
    title: 'acme/app v1.4.0: error rate above 5% in production',
    text: 'error rate above 5% in 3 samples in a row (last 30%, 180/600)',
    repository: 'acme/app',
    version: 'v1.4.0',
    env: 'production',
    links: [
      {
        title: 'workflow',
        url: 'http://localhost:8233/namespaces/default/workflows/production-acme-app-v1.4.0',
      },
    ],
    commands: decisionCommands({
      repository: 'acme/app',
      version: 'v1.4.0',
      workflowId: 'production/acme/app/v1.4.0',
    }),
  });

  it('the decision commands are the exact lines to paste', () => {
    const commands = decisionCommands({
      repository: 'acme/app',
      version: 'v1.4.0',
      workflowId: 'production/acme/app/v1.4.0',
    });
    assert.deepEqual(
      commands.map((c) => c.command),
      [
        'release-flow decide acme/app v1.4.0 emergency --by NAME',
        'release-flow decide acme/app v1.4.0 rollback --by NAME',
        'release-flow decide acme/app v1.4.0 fail-forward --by NAME',
        `temporal workflow signal --workflow-id production/acme/app/v1.4.0 --name emergency --input '{"by":"NAME"}'`,
        `temporal workflow signal --workflow-id production/acme/app/v1.4.0 --name rollback --input '{"by":"NAME"}'`,
        `temporal workflow signal --workflow-id production/acme/app/v1.4.0 --name failForward --input '{"by":"NAME"}'`,
      ],
    );
    const odd = decisionCommands({ repository: "it's mine", version: 'v1.0.0', workflowId: 'a b' });
    assert.equal(odd[0]!.command, `release-flow decide 'it'\\''s mine' v1.0.0 emergency --by NAME`);
    assert.match(odd[3]!.command, /--workflow-id 'a b' /);
  });

  it('an alert is journaled and printed with team, severity, links and the commands to decide', async () => {
    const receipt = await journal.send(breach('acme/app/v1.4.0/breach/1'));
    assert.equal(receipt.sent, true);
    const [entry] = await journal.entries();
    assert.equal(entry?.key, 'acme/app/v1.4.0/breach/1');
    assert.equal(entry?.team, 'development');
    assert.equal(entry?.sentAt, receipt.sentAt);
    assert.equal(printed.length, 1);
    assert.match(printed[0]!, /^\[CRITICAL\] to development: acme\/app v1.4.0/);
    assert.match(printed[0]!, /http:\/\/localhost:8233\//);
    assert.match(printed[0]!, /release-flow decide acme\/app v1.4.0 rollback --by NAME/);
    assert.match(printed[0]!, /--name failForward --input '\{"by":"NAME"\}'/);
  });

  it('the same key never pages twice, even when retries race', async () => {
    const receipts = await Promise.all(
      Array.from({ length: 6 }, () => journal.send(breach('acme/app/v1.4.0/breach/2'))),
    );
    assert.equal(receipts.filter((r) => r.sent).length, 1);
    assert.equal(new Set(receipts.map((r) => r.sentAt)).size, 1);
    // A new process (a restarted worker) reads the same journal.
    const restarted = new AlertJournal({
      file: path.join(root, 'alerts.jsonl'),
      print: (text) => printed.push(text),
    });
    assert.equal((await restarted.send(breach('acme/app/v1.4.0/breach/2'))).sent, false);
    assert.equal(
      (await restarted.send({ ...breach('acme/app/v1.4.0/escalation/1'), team: 'operations' })).sent,
      true,
    );
    const keys = (await readFile(path.join(root, 'alerts.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as Alert).key);
    assert.deepEqual(keys, [
      'acme/app/v1.4.0/breach/1',
      'acme/app/v1.4.0/breach/2',
      'acme/app/v1.4.0/escalation/1',
    ]);
    assert.equal(printed.length, 3);
  });
});
