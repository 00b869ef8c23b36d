import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { demoReceiverPath, readDemoReceiver, writeDemoReceiver } from '../../src/demo/demo-receiver';
import { UserError } from '../../src/common/errors';

describe('the running demo receiver record', () => {
  it('is written for this user only and read back; a secret from the environment wins', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rf-demo-receiver-'));
    writeDemoReceiver(dir, { url: 'http://127.0.0.1:1234/webhooks/github', secret: 's3' });
    assert.equal(statSync(demoReceiverPath(dir)).mode & 0o777, 0o600);
    assert.deepEqual(readDemoReceiver(dir, {}), {
      url: 'http://127.0.0.1:1234/webhooks/github',
      secret: 's3',
    });
    assert.equal(readDemoReceiver(dir, { GITHUB_WEBHOOK_SECRET: 'env' }).secret, 'env');
    writeDemoReceiver(dir, { url: 'http://127.0.0.1:1/webhooks/github' });
    assert.throws(() => readDemoReceiver(dir, {}), /DEMO_NOT_RUNNING|does not name/);
    assert.equal(readDemoReceiver(dir, { GITHUB_WEBHOOK_SECRET: 'env' }).secret, 'env');
  });

  it('no running demo is a one-line error saying to npm start', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rf-demo-receiver-'));
    assert.throws(
      () => readDemoReceiver(dir, {}),
      (err: unknown) =>
        err instanceof UserError && err.code === 'DEMO_NOT_RUNNING' && /npm start/.test(err.render()),
    );
  });
});
