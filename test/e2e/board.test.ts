import '../helpers/runtime';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { environmentKey } from '../../src/activities/deploy';
import { LocalEnvironments } from '../../src/adapters/local/local-environments';
import { LocalMetricSource } from '../../src/adapters/local/local-metric-source';
import { slackSignature } from '../../src/adapters/slack/request-signature';
import { startApp, type RunningApp } from '../../src/app';
import { validateConfig } from '../../src/config/load';
import { hashToken } from '../../src/http/board/token-hash';
import { createLogger } from '../../src/common/logging';
import { startMainCommit, startTagRelease } from '../../src/starter';
import { pipelineWorkflowId } from '../../src/workflows/shared/messages';
import { anyPipelineStatusQuery as statusQuery } from '../../src/workflows/pipeline-status';
import { launchBrowser } from '../helpers/browser';
import { git } from '../helpers/git-fixture';
import { waitFor } from '../helpers/ports';
import { devServerEnv } from '../helpers/temporal-env';

const REPO = 'acme/app';
const TOKENS = { ana: 'ana-token-0123456789', bo: 'bo-token-0123456789' };

function makeRepository(dir: string): void {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  writeFileSync(
    path.join(dir, 'build.js'),
    "require('fs').mkdirSync('dist',{recursive:true});require('fs').writeFileSync('dist/app.txt','app '+Date.now());\n",
  );
  writeFileSync(path.join(dir, 'test.js'), 'process.exit(0);\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'feat(APP-1): the first feature');
}

function commitFix(dir: string, n: number): string {
  writeFileSync(path.join(dir, `fix-${n}.txt`), `fix ${n}\n`);
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', `fix(APP-${n}): fix number ${n}`);
  return git(dir, 'rev-parse', 'HEAD');
}

describe('the release board in a real browser, and Slack buttons, on the real app', () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'rf-board-'));
  const repoDir = path.join(base, 'app');
  const stateDir = path.join(base, 'state');
  let temporal: TestWorkflowEnvironment;
  let app: RunningApp;
  let browser: Browser;
  const apm = new LocalMetricSource({ dir: path.join(stateDir, 'apm') });
  const environments = new LocalEnvironments({ dir: path.join(stateDir, 'environments') });
  const productionVersion = async () =>
    (await environments.state(environmentKey(REPO, 'production'))).current?.version;

  /** main-commit -> tag -> production for the repository's head; resolves with the production id. */
  async function release(expectedVersion: string): Promise<string> {
    const commit = git(repoDir, 'rev-parse', 'HEAD');
    const opts = { taskQueue: 'e2e-board' };
    const main = await startMainCommit(app.client, { repository: REPO, commit }, opts);
    const outcome = (await app.client.workflow.getHandle(main.workflowId).result()) as { tag: string };
    assert.equal(outcome.tag, expectedVersion);
    const tag = await startTagRelease(app.client, { repository: REPO, tag: outcome.tag, commit }, opts);
    await app.client.workflow.getHandle(tag.workflowId).result();
    return pipelineWorkflowId('production', REPO, expectedVersion);
  }

  async function awaitingDecision(workflowId: string): Promise<void> {
    const handle = app.client.workflow.getHandle(workflowId);
    const waiting = await waitFor(
      async () => (await handle.query(statusQuery)).awaitingDecision === true,
      60_000,
      250,
    );
    assert.ok(waiting, `${workflowId} breaches and waits for a decision`);
  }

  async function signedIn(name: keyof typeof TOKENS): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${app.http!.url}/board/login`);
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Token').fill(TOKENS[name]);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${app.http!.url}/board`);
    assert.equal(await page.locator('#whoami').textContent(), name);
    return { context, page };
  }

  function panel(page: Page, workflowId: string) {
    return page.locator(`form.decide[data-workflow="${workflowId}"]`);
  }

  before(async () => {
    makeRepository(repoDir);
    temporal = await devServerEnv();
    const raw = {
      stateDir,
      server: { port: 0 },
      temporal: { taskQueue: 'e2e-board', uiUrl: 'http://temporal-ui.example:8080' },
      repositories: [
        {
          name: REPO,
          path: repoDir,
          artifact: 'dist/app.txt',
          commands: { build: [['node', 'build.js']], unitTests: [['node', 'test.js']] },
          health: {
            window: '40s',
            sampleInterval: '1s',
            minRequests: 1,
            consecutiveBadSamples: 3,
            minJudgedSamples: 1,
          },
          deciders: { emergency: ['ana'], rollback: ['ana'], failForward: ['ana'] },
        },
      ],
      board: {
        auth: {
          mode: 'tokens',
          tokens: [
            { name: 'ana', hash: await hashToken(TOKENS.ana) },
            { name: 'bo', hash: await hashToken(TOKENS.bo) },
          ],
        },
        slack: { users: { UANA: 'ana', UBO: 'bo' }, responseUrlHosts: ['127.0.0.1'] },
      },
    };
    app = await startApp({
      config: validateConfig(raw, {}),
      logger: createLogger('silent'),
      env: { TEMPORAL_ADDRESS: temporal.address, SLACK_SIGNING_SECRET: SLACK_SECRET },
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
    await temporal?.teardown();
  });

  let breached: string;

  it('a release breaches after healthy samples: the board shows the breach and its chart', async () => {
    await apm.setErrorRate('production', 0);
    const first = await release('v1.0.0');
    commitFix(repoDir, 2);
    breached = await release('v1.0.1');
    // The next release supersedes the one before it in production.
    assert.equal(
      ((await app.client.workflow.getHandle(first).result()) as { state: string }).state,
      'superseded',
    );
    const healthySamples = await waitFor(
      async () =>
        ((await app.client.workflow.getHandle(breached).query(statusQuery)).health?.sampleCount ?? 0) >= 4,
      30_000,
      200,
    );
    assert.ok(healthySamples, 'v1.0.1 is watched for a few healthy samples');
    await apm.setErrorRate('production', 0.4);
    await awaitingDecision(breached);

    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${app.http!.url}/board`);
    const card = page.locator(`article.card.breach`);
    await card.waitFor();
    assert.match((await card.locator('h3').textContent()) ?? '', /acme\/app\s+v1\.0\.1/);
    assert.match((await card.getByRole('alert').textContent()) ?? '', /Decision needed/);
    const chart = card.locator('svg.chart');
    assert.equal(await chart.getAttribute('role'), 'img');
    assert.ok((await chart.locator('g.bad').count()) >= 3, 'bad samples are marked on the chart');
    assert.ok((await chart.locator('g.good').count()) >= 4, 'good samples too');
    assert.equal(await chart.locator('line.threshold').count(), 1, 'the threshold is drawn');
    assert.match((await card.locator('figcaption').textContent()) ?? '', /breach/);
    assert.match((await chart.locator('desc').textContent()) ?? '', /above the 5% threshold/);
    // The rest of the board: versions per environment, the lock, links to the run and to build logs.
    const repo = page.locator('article.repo');
    assert.match((await repo.locator('dl.envs').textContent()) ?? '', /productionv1\.0\.1/);
    assert.ok(
      (await page
        .locator('a[href^="http://temporal-ui.example:8080/namespaces/default/workflows/production"]')
        .count()) >= 1,
    );
    assert.ok((await page.locator('a[href^="/logs/"]').count()) >= 1, 'build logs are linked');
    const log = await fetch(
      `${app.http!.url}${await page.locator('a[href^="/logs/"]').first().getAttribute('href')}`,
    );
    assert.equal(log.status, 200);
    assert.match((await page.locator('#h-lock').locator('..').textContent()) ?? '', /Free|Held by/);

    // Keyboard and phone width: the buttons are reachable and nothing overflows sideways.
    await page.setViewportSize({ width: 375, height: 800 });
    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
    assert.ok(overflow <= 0, `no horizontal scrolling at phone width (overflow ${overflow}px)`);
    await context.close();
  });

  it('an unauthenticated click is refused with the reason; an unconfirmed emergency sends nothing', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${app.http!.url}/board`);
    const form = panel(page, breached);
    await form.getByRole('button', { name: 'Rollback' }).click();
    await assertResult(form, /Refused: sign in to decide/);
    page.once('dialog', (dialog) => void dialog.dismiss());
    await form.getByRole('button', { name: 'Emergency' }).click();
    await assertResult(form, /Emergency not sent: it was not confirmed/);
    const status = await app.client.workflow.getHandle(breached).query(statusQuery);
    assert.equal(status.awaitingDecision, true, 'nothing was decided');
    assert.equal(status.decisions?.length ?? 0, 0);
    await context.close();
  });

  it('a signed-in person whom deciders does not allow is refused with the reason', async () => {
    const { context, page } = await signedIn('bo');
    const form = panel(page, breached);
    await form.getByLabel('Reason').fill('I want out');
    await form.getByRole('button', { name: 'Rollback' }).click();
    await assertResult(form, /Refused: bo may not decide rollback: allowed are ana/);
    assert.equal((await app.client.workflow.getHandle(breached).query(statusQuery)).awaitingDecision, true);
    await context.close();
  });

  it('an allowed click on Rollback puts production back and the page shows the decision; a second click is "already decided"', async () => {
    const { context, page } = await signedIn('ana');
    const form = panel(page, breached);
    if (process.env.RELEASE_FLOW_BOARD_SCREENSHOT) {
      await page.screenshot({ path: process.env.RELEASE_FLOW_BOARD_SCREENSHOT, fullPage: true });
    }
    await form.getByLabel('Reason').fill('checkout 5xx after v1.0.1');
    // By keyboard: focus the button and press Enter.
    await form.getByRole('button', { name: 'Rollback' }).focus();
    await page.keyboard.press('Enter');
    await assertResult(form, /Accepted: rollback by ana at .*checkout 5xx after v1\.0\.1/);

    const outcome = (await app.client.workflow.getHandle(breached).result()) as { state: string };
    assert.equal(outcome.state, 'rolled-back');
    assert.equal(await productionVersion(), 'v1.0.0', 'production is back on the previous version');
    const status = await app.client.workflow.getHandle(breached).query(statusQuery);
    assert.equal(status.decisions?.[0]?.by, 'ana', 'by is the signed-in person');

    // The live refresh shows the decision without a reload.
    const decided = page.locator('#decisions tbody tr').first();
    await decided.waitFor({ timeout: 15_000 });
    const row = (await decided.textContent()) ?? '';
    assert.match(row, /Rollback/);
    assert.match(row, /ana/);
    assert.match(row, /checkout 5xx after v1\.0\.1/);
    assert.match(row, /the board/);
    await page
      .locator(`#release-${breached.replace(/[^A-Za-z0-9]+/g, '-')} .decided`)
      .waitFor({ timeout: 15_000 });

    const incidents = page.locator('section[aria-labelledby="h-incidents"]');
    await incidents.filter({ hasText: /ROLLBACK-\d+/ }).waitFor({ timeout: 15_000 });
    assert.match((await incidents.textContent()) ?? '', /ROLLBACK-\d+acme\/app v1\.0\.1.*wiki page/);

    await form.getByRole('button', { name: 'Fail forward' }).click();
    await assertResult(form, /Refused: already decided: rollback by ana/);
    await context.close();
  });

  describe('Slack interactions against the real HTTP server', () => {
    let replies: FakeResponseUrl;
    let awaiting: string;
    before(async () => {
      replies = await fakeResponseUrl();
      commitFix(repoDir, 3);
      awaiting = await release('v1.0.2');
      await awaitingDecision(awaiting);
    });
    after(async () => {
      await replies?.close();
    });

    const body = (user: string, actionId: string, workflowId: string, version: string) =>
      slackForm({
        type: 'block_actions',
        user: { id: user },
        actions: [
          {
            action_id: actionId,
            value: JSON.stringify({ workflowId, repository: REPO, version }),
          },
        ],
        response_url: `${replies.url}/actions/1`,
        container: { message_ts: '1700000000.000100' },
      });
    const decisions = async () =>
      (await app.client.workflow.getHandle(awaiting).query(statusQuery)).decisions ?? [];

    it('unsigned, forged and stale requests are refused and change nothing', async () => {
      const form = body('UANA', 'release-flow:rollback', awaiting, 'v1.0.2');
      const unsigned = await post(app.http!.url, form, {});
      assert.equal(unsigned.status, 401);
      const forged = await post(app.http!.url, form, signed('not-the-secret', form));
      assert.equal(forged.status, 401);
      const stale = await post(
        app.http!.url,
        form,
        signed(SLACK_SECRET, form, Math.floor(Date.now() / 1000) - 6 * 60),
      );
      assert.equal(stale.status, 401);
      assert.match(await stale.text(), /more than 5 minutes/);
      assert.deepEqual(await decisions(), []);
      assert.equal(replies.received.length, 0);
    });

    it('an unknown Slack user is told so in the thread, and nothing is decided', async () => {
      const form = body('USTRANGER', 'release-flow:rollback', awaiting, 'v1.0.2');
      const res = await post(app.http!.url, form, signed(SLACK_SECRET, form));
      assert.equal(res.status, 200);
      const reply = await replies.next();
      assert.match(String(reply.text), /USTRANGER> is not mapped to a decider/);
      assert.deepEqual(await decisions(), []);
    });

    it('a mapped user whom deciders does not allow gets the rejection in the thread', async () => {
      const form = body('UBO', 'release-flow:fail-forward', awaiting, 'v1.0.2');
      assert.equal((await post(app.http!.url, form, signed(SLACK_SECRET, form))).status, 200);
      const reply = await replies.next();
      assert.match(
        String(reply.text),
        /Not accepted: failForward on acme\/app v1\.0\.2 by bo: bo may not decide failForward/,
      );
      assert.equal(reply.thread_ts, '1700000000.000100');
      assert.deepEqual(await decisions(), []);
    });

    it('an allowed user is answered within 3 s, the decision is recorded as theirs, and a replay changes nothing', async () => {
      const form = body('UANA', 'release-flow:fail-forward', awaiting, 'v1.0.2');
      const headers = signed(SLACK_SECRET, form);
      const started = Date.now();
      const res = await post(app.http!.url, form, headers);
      assert.equal(res.status, 200);
      assert.ok(Date.now() - started < 3000, 'acknowledged within Slack’s 3 seconds');
      const reply = await replies.next();
      assert.match(String(reply.text), /^Accepted: failForward on acme\/app v1\.0\.2 by ana/);
      assert.equal(reply.response_type, 'in_channel');
      assert.equal(reply.thread_ts, '1700000000.000100');
      const recorded = await decisions();
      assert.equal(recorded.length, 1);
      assert.equal(recorded[0]!.decision, 'failForward');
      assert.equal(recorded[0]!.by, 'ana');

      const replay = await post(app.http!.url, form, headers);
      assert.equal(replay.status, 200);
      assert.equal(replies.received.length, 3, 'a replay gets no reply and no second decision');
      assert.equal((await decisions()).length, 1);
      // The board names the door.
      const state = (await (await fetch(`${app.http!.url}/board/state`)).json()) as {
        decisions: { workflowId: string; from: string; by: string }[];
      };
      const shown = state.decisions.find((d) => d.workflowId === awaiting);
      assert.equal(shown?.from, 'Slack');
      assert.equal(shown?.by, 'ana');
    });
  });
});

async function assertResult(form: ReturnType<Page['locator']>, pattern: RegExp): Promise<void> {
  const result = form.locator('.result');
  await result.filter({ hasText: pattern }).waitFor({ timeout: 15_000 });
  assert.match((await result.textContent()) ?? '', pattern);
}

const SLACK_SECRET = 'slack-signing-secret-for-tests';

function slackForm(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

function signed(
  secret: string,
  form: string,
  timestamp = Math.floor(Date.now() / 1000),
): Record<string, string> {
  return {
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': slackSignature(secret, String(timestamp), form),
  };
}

function post(url: string, form: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${url}/slack/interactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: form,
  });
}

interface FakeResponseUrl {
  url: string;
  received: Record<string, unknown>[];
  /** The next reply not yet returned by next(). */
  next(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Slack's response_url, as a loopback server that records what it is sent. */
async function fakeResponseUrl(): Promise<FakeResponseUrl> {
  const received: Record<string, unknown>[] = [];
  let taken = 0;
  const waiters: (() => void)[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      waiters.splice(0).forEach((w) => w());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    async next() {
      const deadline = Date.now() + 30_000;
      while (received.length <= taken) {
        if (Date.now() > deadline) throw new Error('no reply reached the response_url');
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 1000);
        });
      }
      return received[taken++]!;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
