/**
 * Jira and Confluence end to end on a dev server: a release breaks production, an emergency is
 * declared, and the real worker's activities open the HOT-1 Jira issue with the decision and
 * publish the HOT-1 retrospective in Confluence from the template; the timeline then goes in as
 * comments, a new page version and the done transition through the ports. The PR gate of the
 * same repository refuses a branch whose ticket is missing and one whose ticket is done, and
 * links the ticket of a good branch. `doctor` checks both services.
 */
import '../helpers/runtime';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import { createLocalFencedResource } from '../../src/adapters/local/fenced-resource';
import { LocalMetricSource } from '../../src/adapters/local/local-metric-source';
import { StatusJournal } from '../../src/adapters/local/status-journal';
import { checkAtlassian } from '../../src/cli/atlassian-doctor';
import { validateConfig } from '../../src/config/load';
import { createLocalPipelinePorts } from '../../src/composition/pipeline-ports';
import { createRepositoryPorts } from '../../src/composition/repository-ports';
import { startMainCommit, startPullRequestGate, startTagRelease } from '../../src/starter';
import {
  anyPipelineStatusQuery as statusQuery,
  type AnyPipelineStatus as PipelineStatus,
} from '../../src/workflows/pipeline-status';
import type { PullRequestGateVerdict } from '../../src/workflows/pr-gate/messages';
import { emergencySignal } from '../../src/workflows/production/messages';
import { statusQuery as lockStatusQuery } from '../../src/workflows/lock/messages';
import { FakeConfluence } from '../helpers/fake-confluence';
import { FakeJira } from '../helpers/fake-jira';
import { git } from '../helpers/git-fixture';
import { waitFor } from '../helpers/ports';
import { inBackground, stopWorkerAndServer, type BackgroundWorker } from '../helpers/background-worker';
import { devServerEnv, unique, workflowBundle } from '../helpers/temporal-env';

const UI = 'http://temporal-ui.test';

function makeRepository(dir: string): string {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  writeFileSync(
    path.join(dir, 'build.js'),
    "require('fs').mkdirSync('dist',{recursive:true});require('fs').writeFileSync('dist/app.txt','app');\n",
  );
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'feat(JIRA-1): the first feature');
  return git(dir, 'rev-parse', 'HEAD');
}

function branch(dir: string, name: string, message: string): string {
  git(dir, 'checkout', '-q', '-b', name, 'main');
  writeFileSync(path.join(dir, `${name.replace('/', '-')}.txt`), name);
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', message);
  const head = git(dir, 'rev-parse', 'HEAD');
  git(dir, 'checkout', '-q', 'main');
  return head;
}

describe('Jira tickets, Confluence retrospectives and the ticket-aware PR gate end to end', () => {
  const jira = new FakeJira('cloud');
  const confluence = new FakeConfluence();
  const base = mkdtempSync(path.join(os.tmpdir(), 'rf-jira-e2e-'));
  const repoDir = path.join(base, 'shop');
  const stateDir = path.join(base, 'state');
  const repository = 'acme/shop';
  const taskQueue = unique('e2e-jira');
  let head: string;
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: BackgroundWorker;
  let config: ReturnType<typeof validateConfig>;
  let processEnv: NodeJS.ProcessEnv;

  before(async () => {
    await jira.start();
    await confluence.start();
    head = makeRepository(repoDir);
    jira.addIssue('JIRA-1', 'The first feature', 'progress');
    env = await devServerEnv();
    processEnv = { ...jira.env(), ...confluence.env() };
    config = validateConfig(
      {
        stateDir,
        repositories: [
          {
            name: repository,
            path: repoDir,
            artifact: 'dist/app.txt',
            commands: { build: [['node', 'build.js']] },
            health: {
              window: '30s',
              sampleInterval: '1s',
              minRequests: 1,
              consecutiveBadSamples: 2,
              minJudgedSamples: 2,
            },
            escalation: { realertAfter: '1h', escalateAfter: '2h' },
            jira: { url: jira.url, project: 'OPS', issueType: 'Incident', labels: ['sev-1'], prGate: true },
            confluence: { url: confluence.wikiUrl, space: 'OPS', parentPageId: confluence.parentId },
          },
        ],
      },
      {},
    );
    const fencedResource = createLocalFencedResource(path.join(stateDir, 'fenced'));
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: createActivities({
        identity: 'e2e-jira',
        client: env.client,
        fencedResource,
        ...createLocalPipelinePorts({
          config,
          stateDir,
          fencedResource,
          uiUrl: UI,
          printAlert: () => {},
          env: processEnv,
        }),
      }),
      maxHeartbeatThrottleInterval: '1 second',
    });
    running = inBackground(worker);
  });
  after(async () => {
    await stopWorkerAndServer(running, env);
    await jira.stop();
    await confluence.stop();
  });

  it('an emergency opens HOT-1 in Jira with the decision and publishes HOT-1 in Confluence from the template', async () => {
    const main = await startMainCommit(env.client, { repository, commit: head }, { taskQueue });
    const released = (await env.client.workflow.getHandle(main.workflowId).result()) as { tag: string };
    assert.equal(released.tag, 'v1.0.0');
    await new LocalMetricSource({ dir: path.join(stateDir, 'apm') }).setErrorRate('production', 0.5);
    const tag = await startTagRelease(env.client, { repository, tag: 'v1.0.0', commit: head }, { taskQueue });
    const tagOutcome = (await env.client.workflow.getHandle(tag.workflowId).result()) as {
      state: string;
      productionWorkflowId: string;
    };
    assert.equal(tagOutcome.state, 'promoted');
    const [link, ...more] = jira.issues.find((i) => i.key === 'JIRA-1')!.remoteLinks;
    assert.equal(more.length, 0, 'one link per version and environment');
    assert.equal(
      link!.object.title,
      'acme/shop v1.0.0 runs in staging',
      'the release is linked on its ticket',
    );
    assert.equal(
      link!.object.url,
      `${UI}/namespaces/default/workflows/${encodeURIComponent(tag.workflowId)}`,
    );
    const production = env.client.workflow.getHandle(tagOutcome.productionWorkflowId);
    const awaiting = await waitFor(
      async () => ((await production.query(statusQuery)) as PipelineStatus).awaitingDecision === true,
      60_000,
      200,
    );
    assert.equal(awaiting, true);
    // Jira answers 503 to everything: the emergency's urgent steps happen anyway, the ticket waits.
    jira.unavailable = 1_000_000;
    await production.signal(emergencySignal, { by: 'oncall-ana', reason: 'checkout is down' });
    const pending = await waitFor(
      async () => {
        const s = (await production.query(statusQuery)) as PipelineStatus & {
          hotfix?: { id: string; ticket?: { state: string; lastError?: string; attempts: number } };
        };
        const urgent = s.steps.some((st) => st.name === 'staging lock hotfix-only' && st.state === 'done');
        return urgent && s.hotfix?.ticket?.lastError ? s : undefined;
      },
      60_000,
      100,
    );
    assert.ok(pending, 'the urgent steps ran while Jira was away');
    assert.equal(pending.hotfix?.id, 'HOT-1', 'numbered by release-flow, not by Jira');
    assert.equal(pending.hotfix?.ticket?.state, 'pending');
    assert.match(pending.hotfix?.ticket?.lastError ?? '', /Jira unavailable \(503\)/);
    assert.equal(
      git(repoDir, 'rev-parse', 'refs/heads/HOT-1'),
      head,
      'the branch is cut at the deployed tag',
    );
    const lock = await env.client.workflow.getHandle('lock:staging').query(lockStatusQuery);
    assert.equal(lock.mode.mode, 'hotfixOnly');
    assert.deepEqual(
      lock.incidents.map((h) => h.id),
      ['HOT-1'],
    );
    assert.equal(lock.holder, null, 'staging is not held while the ticket waits');
    assert.equal(jira.issue('HOT-1'), undefined);
    const alerts = readFileSync(path.join(stateDir, 'alerts.jsonl'), 'utf8');
    assert.match(alerts, /"kind":"emergency"/, 'operations were paged');
    // Jira is back: the ticket follows.
    jira.unavailable = 0;
    const ended = (await production.result()) as {
      state: string;
      hotfix: { id: string; ticketUrl: string; wikiUrl: string; ticket: { state: string; attempts: number } };
    };
    assert.equal(ended.state, 'hotfix-pending');
    assert.equal(ended.hotfix.id, 'HOT-1');
    assert.equal(ended.hotfix.ticket.state, 'done');
    assert.ok(ended.hotfix.ticket.attempts >= 2);

    const issue = jira.issue('HOT-1')!;
    assert.ok(issue, 'the Jira issue carries HOT-1 as a label');
    assert.equal(issue.summary, 'HOT-1: acme/shop v1.0.0: emergency declared by oncall-ana');
    assert.equal(issue.issueType, 'Incident');
    assert.equal(issue.priority, 'Highest');
    assert.deepEqual(
      issue.labels.filter((l) => !l.startsWith('release-flow-')),
      ['release-flow', 'HOT-1', 'sev-1'],
    );
    assert.equal(ended.hotfix.ticketUrl, `${jira.url}/browse/${issue.key}`);
    const description = JSON.stringify(issue.description);
    assert.match(description, /"type":"doc"/);
    for (const section of ['Summary', 'Impact', 'Release', 'Decision', 'Links']) {
      assert.match(
        description,
        new RegExp(
          `"type":"heading","attrs":\\{"level":2\\},"content":\\[\\{"type":"text","text":"${section}"`,
        ),
      );
    }
    assert.match(description, /oncall-ana/);
    assert.match(description, /checkout is down/);
    assert.match(description, new RegExp(`"href":"${UI}/namespaces/default/workflows/`));

    const page = confluence.byTitle('HOT-1: ')!;
    assert.equal(page.title, 'HOT-1: Emergency hotfix of acme/shop v1.0.0');
    assert.equal(page.parentId, confluence.parentId);
    const value = page.versions[0]!.value;
    for (const section of ['Summary', 'Impact', 'Timeline (UTC)', 'Decision', 'Root cause', 'Follow-ups']) {
      assert.ok(value.includes(`<h2>${section}</h2>`), section);
    }
    assert.match(value, /oncall-ana/);
    assert.match(ended.hotfix.wikiUrl, new RegExp(`/wiki/spaces/OPS/pages/${page.id}/`));
    const history = await production.fetchHistory();
    const results = (history.events ?? [])
      .map((e) => e.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data)
      .filter((d): d is Uint8Array => d instanceof Uint8Array)
      .map(
        (d) =>
          JSON.parse(Buffer.from(d).toString('utf8')) as {
            service?: string;
            attempt?: number;
            id?: string;
          } | null,
      );
    assert.deepEqual(
      results.filter((r) => r?.service).map((r) => [r!.service, r!.id, r!.attempt]),
      [
        ['Confluence', 'HOT-1', 1],
        ['Jira', 'HOT-1', 1],
      ],
      'the page was published while Jira was away; the ticket on the first attempt once it was back',
    );
    assert.ok(!JSON.stringify(history).includes(jira.apiToken), 'the token never enters the history');
    const steps = ((await production.query(statusQuery)) as PipelineStatus).steps;
    assert.deepEqual(
      steps.filter((s) => /HOT/.test(s.name)).map((s) => [s.name, s.state]),
      [
        ['record incident HOT-<n>', 'done'],
        ['ticket HOT-1', 'done'],
        ['branch HOT-1', 'done'],
        ['wiki page HOT-1', 'done'],
        ['link HOT-1 to its ticket and page', 'done'],
      ],
    );
  });

  it('the timeline goes in as comments, a new page version and the done transition, each once', async () => {
    const ports = createRepositoryPorts({ stateDir, env: processEnv });
    const repo = config.repositories[0]!;
    const tickets = await ports.tickets(repo);
    const wiki = await ports.wiki(repo);
    assert.deepEqual(
      await tickets.comment({
        id: 'HOT-1',
        key: 'hotfix/v1.0.1',
        markdown: 'Hotfix **v1.0.1** deployed to production',
      }),
      { added: true },
    );
    assert.deepEqual(
      await tickets.comment({
        id: 'HOT-1',
        key: 'hotfix/v1.0.1',
        markdown: 'Hotfix **v1.0.1** deployed to production',
      }),
      { added: false },
    );
    assert.deepEqual(
      await wiki.append({ id: 'HOT-1', key: 'timeline', markdown: '## Hotfix\n\n- v1.0.1 healthy' }),
      { added: true },
    );
    assert.deepEqual(
      await wiki.append({ id: 'HOT-1', key: 'timeline', markdown: '## Hotfix\n\n- v1.0.1 healthy' }),
      { added: false },
    );
    const page = confluence.byTitle('HOT-1: ')!;
    assert.deepEqual(
      page.versions.map((v) => v.number),
      [1, 2],
      'one page, a second version',
    );
    assert.deepEqual(
      await tickets.close({ id: 'HOT-1', key: 'closed', markdown: 'Incident closed: v1.0.1 healthy' }),
      { closed: true },
    );
    assert.deepEqual(
      await tickets.close({ id: 'HOT-1', key: 'closed', markdown: 'Incident closed: v1.0.1 healthy' }),
      { closed: false },
    );
    const issue = jira.issue('HOT-1')!;
    assert.equal(issue.status.name, 'Done');
    assert.equal(issue.comments.length, 2);
  });

  it('the PR gate refuses a missing ticket and a done ticket, and links an open one', async () => {
    jira.addIssue('JIRA-7', 'Old work', 'done');
    jira.addIssue('JIRA-1234', 'Checkout button', 'progress');
    const journal = new StatusJournal({ file: path.join(stateDir, 'statuses.jsonl') });
    const gate = async (number: number, name: string) => {
      const ticket = name.split('/')[1]!;
      const sha = branch(repoDir, name, `feat(${ticket}): work on ${ticket}`);
      const started = await startPullRequestGate(
        env.client,
        { repository, number, head: sha, branch: name, base: 'main' },
        { taskQueue },
      );
      const verdict = (await env.client.workflow
        .getHandle(started.workflowId)
        .result()) as PullRequestGateVerdict;
      return { verdict, status: (await journal.latest(repository, sha, 'release-flow/policy'))! };
    };

    const missing = await gate(1, 'nyefan/JIRA-9');
    assert.equal(missing.verdict.verdict.ok, false);
    assert.deepEqual(
      missing.verdict.verdict.violations.map((v) => v.rule),
      ['ticket'],
    );
    assert.equal(missing.status.state, 'failure');
    assert.match(missing.status.description, /^ticket: ticket JIRA-9 does not exist in Jira/);

    const done = await gate(2, 'nyefan/JIRA-7');
    assert.deepEqual(
      done.verdict.verdict.violations.map((v) => v.rule),
      ['ticket'],
    );
    assert.match(done.status.description, /^ticket: ticket JIRA-7 is done \(Done\)/);
    assert.equal(done.status.targetUrl, `${jira.url}/browse/JIRA-7`, 'the status links the ticket');

    const good = await gate(3, 'nyefan/JIRA-1234');
    assert.equal(good.verdict.verdict.ok, true);
    assert.equal(good.status.state, 'success');
    assert.match(good.status.description, /JIRA-1234 In Progress/);
    assert.equal(good.status.targetUrl, `${jira.url}/browse/JIRA-1234`);
  });

  it('doctor checks the Jira project, issue type, permissions and transition, and the Confluence space and parent page', async () => {
    const checks = await checkAtlassian(config, processEnv);
    assert.deepEqual(
      checks.map((c) => [c.system, c.check, c.ok]),
      [
        ['jira', 'project', true],
        ['jira', 'issue type', true],
        ['jira', 'writable', true],
        ['jira', 'transition', true],
        ['confluence', 'space', true],
        ['confluence', 'parent page', true],
      ],
    );
    jira.denied.add('TRANSITION_ISSUES');
    confluence.denied.add('create:page');
    const wrong = validateConfig(
      {
        repositories: [
          {
            name: repository,
            jira: { url: jira.url, project: 'OPS', issueType: 'Epic' },
            confluence: { url: confluence.wikiUrl, space: 'OPS', parentPageId: '424242' },
          },
        ],
      },
      {},
    );
    const failed = await checkAtlassian(wrong, processEnv);
    jira.denied.clear();
    confluence.denied.clear();
    const byCheck = Object.fromEntries(failed.map((c) => [`${c.system} ${c.check}`, c]));
    assert.match(byCheck['jira issue type']!.detail, /"Epic" is not offered in OPS.*jira\.issueType/);
    assert.match(byCheck['jira writable']!.detail, /lacks TRANSITION_ISSUES/);
    assert.match(byCheck['confluence space']!.detail, /may not add pages/);
    assert.match(byCheck['confluence parent page']!.detail, /424242 not found.*confluence\.parentPageId/);
    const offline = await checkAtlassian(wrong, {});
    assert.match(offline[0]!.detail, /JIRA_CREDENTIALS_MISSING/);
  });
});
