/**
 * Released means released: the ledger outside Temporal outlives the runs. A signed tag push is
 * started, its run is deleted from Temporal (what retention does), the version reaches production
 * through the real deploy activity, and the same signed delivery sent again is refused with
 * 202 already released; nothing is started. The CLI refuses the same start naming the version,
 * unless a person forces it with a reason, which is recorded.
 */
import '../helpers/runtime';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDeployActivities } from '../../src/activities/deploy';
import { FilesystemRegistry } from '../../src/adapters/local/filesystem-registry';
import { LocalEnvironments } from '../../src/adapters/local/local-environments';
import { ReleaseLedger, releaseLedgerPath } from '../../src/adapters/local/release-ledger';
import { startHttpServer } from '../../src/http/server';
import { AlreadyReleased, startTagRelease } from '../../src/starter';
import { openWebhookReceiver } from '../../src/http/webhooks/webhook-receiver';
import { DEFAULT_RELEASE_TAG_PATTERN } from '../../src/domain/release-tags';
import { devServerEnv, unique } from '../helpers/temporal-env';
import { capturingLogger, deliver, SECRET, sha } from '../helpers/webhooks';

const REPO = { name: 'acme/shop', defaultBranch: 'main', releaseTagPattern: DEFAULT_RELEASE_TAG_PATTERN };
const tagPush = (tag: string, commit: string) =>
  JSON.stringify({
    ref: `refs/tags/${tag}`,
    after: sha(999),
    head_commit: { id: commit },
    repository: { full_name: 'acme/shop' },
  });

/** Whether Temporal still knows a run of `workflowId`. */
async function known(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

describe('released means released', () => {
  let env: TestWorkflowEnvironment;
  let stateDir: string;
  before(async () => {
    env = await devServerEnv();
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-ledger-'));
  });
  after(async () => {
    await env?.teardown();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('an old signed tag push redelivered after its runs left Temporal is refused: 202 already released', async () => {
    const taskQueue = unique('ledger');
    const receiver = openWebhookReceiver({
      stateDir,
      repositories: [REPO],
      secret: SECRET,
      client: () => env.client,
      taskQueue,
      logger: capturingLogger().logger,
      startTimeoutMs: 2_000,
    });
    const http = await startHttpServer({ host: '127.0.0.1', port: 0, routes: receiver.routes });
    try {
      const body = tagPush('v1.4.0', sha(0x140));
      const delivery = 'old-delivery-140';
      const first = await deliver(http.url, { event: 'push', body, delivery });
      assert.deepEqual([first.status, first.body.decision], [201, 'started']);
      const workflowId = 'tag:acme/shop:v1.4.0';
      assert.equal(first.body.workflowId, workflowId);

      // Retention: the run is gone from Temporal, so its id no longer de-duplicates anything.
      const run = env.client.workflow.getHandle(workflowId);
      await run.terminate('test: the release is over');
      const { runId } = await run.describe();
      await env.client.workflowService.deleteWorkflowExecution({
        namespace: 'default',
        workflowExecution: { workflowId, runId },
      });
      // Deletion is asynchronous on the server (about 30 s on the dev server): wait until it is gone.
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline && (await known(env.client, workflowId)))
        await new Promise((r) => setTimeout(r, 250));
      assert.equal(await known(env.client, workflowId), false, 'deleted from Temporal');

      // The version reached production through the production deploy activity.
      const registry = new FilesystemRegistry(path.join(stateDir, 'registry'));
      const deploy = createDeployActivities({
        registry,
        environments: new LocalEnvironments({ dir: path.join(stateDir, 'environments') }),
        releases: receiver.ledger,
      });
      await deploy.deployVersion({
        repository: 'acme/shop',
        env: 'production',
        version: 'v1.4.0',
        artifact: { repository: 'prod', tag: 'v1.4.0' },
        by: 'production:acme/shop:v1.4.0',
      });

      const again = await deliver(http.url, { event: 'push', body, delivery });
      assert.equal(again.status, 202, JSON.stringify(again.body));
      assert.equal(again.body.decision, 'already-released');
      assert.match(String(again.body.reason), /v1\.4\.0 of acme\/shop was already released/);
      assert.equal(await known(env.client, workflowId), false, 'nothing started again');
      assert.equal(receiver.ledger.delivery(delivery)?.decision, 'already-released');

      // Another version of the same repository still starts.
      const next = await deliver(http.url, { event: 'push', body: tagPush('v1.5.0', sha(0x150)) });
      assert.deepEqual([next.status, next.body.decision], [201, 'started']);
    } finally {
      await http.close();
      await receiver.close();
    }
  });

  it('the starter refuses a released version naming it, and a forced start is recorded with who and why', async () => {
    const ledger = ReleaseLedger.open(releaseLedgerPath(stateDir));
    try {
      const opts = { taskQueue: unique('ledger-force'), releases: ledger };
      const input = { repository: 'acme/shop', tag: 'v1.4.0', commit: sha(0x140) };
      await assert.rejects(startTagRelease(env.client, input, opts), (err: unknown) => {
        assert.ok(err instanceof AlreadyReleased);
        assert.match(err.message, /^v1\.4\.0 of acme\/shop was already released/);
        return true;
      });
      const forced = await startTagRelease(env.client, input, {
        ...opts,
        force: { by: 'ana', reason: 'the production registry was restored from backup' },
      });
      assert.equal(forced.started, true);
      assert.deepEqual(
        ledger.forced('acme/shop', 'v1.4.0').map((f) => [f.by, f.reason]),
        [['ana', 'the production registry was restored from backup']],
      );
    } finally {
      ledger.close();
    }
  });
});
