import '../helpers/runtime';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  type Client,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { PipelineActivities } from '../../src/activities/pipeline';
import type { ReleasePage } from '../../src/activities/production-alerts';
import type { CommitStatusRequest } from '../../src/activities/statuses';
import type { HealthSample } from '../../src/domain/health-verdict';
import { lockProbeWorkflow } from '../../src/workflows/lock/lock-probe-workflow';
import { setModeSignal } from '../../src/workflows/lock/messages';
import {
  decideUpdate,
  emergencySignal,
  failForwardSignal,
  productionStatusQuery,
  rollbackSignal,
  type ProductionReleaseInput,
  type ProductionStatus,
} from '../../src/workflows/production/messages';
import { productionReleaseWorkflow } from '../../src/workflows/production/production-release-workflow';
import { pipelineWorkflowId } from '../../src/workflows/shared/messages';
import { HOLD_UNTIL_OPENED, lockHarness, untilStatus } from '../helpers/lock-harness';
import { waitFor } from '../helpers/ports';
import { timeSkippingWorker, type TimeSkippingWorker } from '../helpers/time-skipping-worker';
import { unique } from '../helpers/temporal-env';

type Calls = { name: string; input: unknown }[];
type Stubs = Partial<PipelineActivities>;

const VERSION = 'v1.3.0';
const PREVIOUS = 'v1.2.0';
const COMMIT = 'c'.repeat(40);

const healthy = { requests: 1000, errors: 2 };
const failing = { requests: 1000, errors: 300 };

// Breach after three bad one-minute samples; reminders every 30 minutes, operations after 2 hours.
const settings: Pick<ProductionReleaseInput, 'health' | 'escalation'> = {
  health: {
    window: '10 minutes',
    sampleInterval: '1 minute',
    parameters: { consecutiveBadSamples: 3, minRequests: 50, minJudgedSamples: 3, consecutiveQueryErrors: 2 },
  },
  escalation: { realertAfter: '30 minutes', escalateAfter: '2 hours' },
};

function environment(env: string, current: string, previous: string | null) {
  const v = (version: string) => ({ version, digest: null, artifactUri: null, at: 0, by: 'x' });
  return { env, current: v(current), previous: previous ? v(previous) : null, lastGood: null, history: [] };
}

/** Stub activities recording every call; `sample` answers measureHealth; statuses go to `posted`. */
function stubs(
  calls: Calls,
  sample: () => Omit<HealthSample, 'at'>,
  overrides: Stubs,
  posted: CommitStatusRequest[] = [],
): Stubs {
  const record =
    <I, O>(name: string, out: (input: I) => O | Promise<O>) =>
    async (input: I): Promise<O> => {
      calls.push({ name, input });
      return await out(input);
    };
  const base: Stubs = {
    promoteArtifact: record('promoteArtifact', (i: { repository: string; version: string }) => ({
      repository: 'prod' as const,
      artifact: i.repository,
      tag: i.version,
      digest: `sha256:${'b'.repeat(64)}` as const,
      size: 10,
      uri: '/prod',
      created: true,
    })),
    deployVersion: record('deployVersion', (i: { env: string; version: string }) => ({
      changed: true,
      note: `deployed ${i.version}`,
      state: environment(i.env, i.version, PREVIOUS),
    })),
    markGood: record('markGood', (i: { env: string; version: string }) => ({
      changed: true,
      note: 'marked good',
      state: environment(i.env, i.version, PREVIOUS),
    })),
    rollbackEnvironment: record('rollbackEnvironment', (i: { env: string }) => ({
      changed: true,
      note: 'rolled back',
      state: environment(i.env, i.env === 'production' ? PREVIOUS : 'v1.2.9', null),
    })),
    measureHealth: record(
      'measureHealth',
      (i: { to: number }) => ({ ...sample(), at: i.to }) as HealthSample,
    ),
    pageReleaseAlert: record('pageReleaseAlert', () => ({ sent: true, sentAt: 0 })),
    resolveReleaseAlerts: record('resolveReleaseAlerts', () => ({ deliveries: [] })),
    openIncidentTicket: record('openIncidentTicket', () => ({
      id: 'HOT-7',
      url: 'file:///tickets/HOT-7.md',
      created: true,
    })),
    publishRetrospective: record('publishRetrospective', (i: { page: { id: string } | { kind: string } }) => {
      const id = 'id' in i.page ? i.page.id : 'ROLLBACK-3';
      return { id, url: `file:///wiki/${id}.md`, created: true };
    }),
    createHotfixBranch: record('createHotfixBranch', () => ({ created: true, commit: COMMIT })),
    hotfixOfVersion: record('hotfixOfVersion', () => null),
    recordIncident: record('recordIncident', (i: { id: string; brokenVersion: string }) => ({
      id: i.id,
      state: 'open' as const,
      brokenVersion: i.brokenVersion,
      branch: i.id,
      ticketUrl: `file:///tickets/${i.id}.md`,
      wikiUrl: `file:///wiki/${i.id}.md`,
    })),
    reserveIncident: record('reserveIncident', (i: { brokenVersion: string }) => ({
      id: 'HOT-7',
      state: 'open' as const,
      brokenVersion: i.brokenVersion,
      branch: 'HOT-7',
      ticketUrl: '',
      wikiUrl: '',
    })),
    linkIncidentDocuments: record(
      'linkIncidentDocuments',
      (i: { id: string; ticketUrl?: string; wikiUrl?: string }) => ({
        id: i.id,
        state: 'open' as const,
        brokenVersion: VERSION,
        branch: i.id,
        ticketUrl: i.ticketUrl ?? '',
        wikiUrl: i.wikiUrl ?? '',
      }),
    ),
    commentOnIncident: record('commentOnIncident', () => ({ added: true })),
    markBad: record('markBad', (i: { envs: string[]; version: string }) => ({
      notes: i.envs.map((e) => `${i.version} is marked bad in ${e}`),
    })),
    notifyPipelineFailure: record('notifyPipelineFailure', () => ({ sent: true, sentAt: 0 })),
    postCommitStatus: async (i) => {
      posted.push(i);
      return { posted: true };
    },
  };
  return { ...base, ...overrides };
}

describe('productionReleaseWorkflow (time-skipping, stubbed activities, real staging lock)', () => {
  let env: TestWorkflowEnvironment;
  let client: Client;
  let server: TimeSkippingWorker;
  let harness: ReturnType<typeof lockHarness>;
  let calls: Calls;
  let sample: () => Omit<HealthSample, 'at'>;
  let overrides: Stubs;
  let posted: CommitStatusRequest[] = [];
  const taskQueue = unique('production');

  before(async () => {
    const names = Object.keys(stubs([], () => healthy, {}));
    const dispatched = Object.fromEntries(
      names.map((name) => [
        name,
        (input: unknown) =>
          (stubs(calls, sample, overrides, posted) as Record<string, (i: unknown) => Promise<unknown>>)[
            name
          ]!(input),
      ]),
    );
    server = await timeSkippingWorker({
      taskQueue,
      // The time-skipping client: `result()` lets time skip over the health window and the timers.
      client: 'time-skipping',
      activities: (c) => {
        harness = lockHarness(c);
        return {
          ...harness.activities,
          // Recorded too: the lock request is one of the decision's effects, in order.
          requestLock: async (input: Parameters<typeof harness.activities.requestLock>[0]) => {
            calls.push({ name: 'requestLock', input });
            return await harness.activities.requestLock(input);
          },
          ...dispatched,
        };
      },
    });
    ({ env, client } = server);
  });
  after(() => server?.stop());
  beforeEach(() => {
    calls = [];
    posted = [];
    sample = () => healthy;
    overrides = {};
  });
  /** `state: description` of each commit status posted, in order. */
  const statuses = () =>
    posted.map((p) => {
      assert.equal(p.context, 'release-flow/production');
      assert.equal(p.commit, COMMIT);
      return `${p.state}: ${p.description}`;
    });

  const names = () => calls.map((c) => c.name);
  const inputsOf = <T>(name: string) => calls.filter((c) => c.name === name).map((c) => c.input as T);
  const pages = () => inputsOf<ReleasePage>('pageReleaseAlert');

  async function start(extra: Partial<ProductionReleaseInput> = {}) {
    const repository = unique('acme/shop');
    return await client.workflow.start(productionReleaseWorkflow, {
      taskQueue,
      workflowId: pipelineWorkflowId('production', repository, VERSION),
      args: [{ repository, version: VERSION, commit: COMMIT, ...settings, ...extra }],
    });
  }

  async function until(
    handle: WorkflowHandle,
    pred: (s: ProductionStatus) => boolean,
    timeoutMs = 15_000,
  ): Promise<ProductionStatus> {
    const deadline = Date.now() + timeoutMs;
    let last: ProductionStatus | undefined;
    while (Date.now() < deadline) {
      last = await handle.query(productionStatusQuery);
      if (pred(last)) return last;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`status never matched; last: ${JSON.stringify(last)}`);
  }

  /** Starts a release whose production fails at once and waits until a decision is awaited. */
  async function breached(extra: Partial<ProductionReleaseInput> = {}) {
    sample = () => failing;
    const handle = await start(extra);
    await env.sleep('4 minutes');
    const status = await until(handle, (s) => s.awaitingDecision === true && (s.pages?.length ?? 0) === 1);
    return { handle, status };
  }

  async function rejection(promise: Promise<unknown>): Promise<string> {
    try {
      await promise;
    } catch (err) {
      assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
      assert.equal((err.cause as ApplicationFailure).type, 'DecisionRejected');
      return err.cause!.message;
    }
    assert.fail('the update was accepted');
  }

  it('a newer version deployed to production supersedes the watch of the one it replaced', async () => {
    const repository = unique('acme/shop');
    const older = await client.workflow.start(productionReleaseWorkflow, {
      taskQueue,
      workflowId: pipelineWorkflowId('production', repository, PREVIOUS),
      args: [{ repository, version: PREVIOUS, commit: COMMIT, ...settings }],
    });
    await until(older, (s) => s.step === 'watch production health');
    // The stub deploy reports PREVIOUS as what ran before VERSION: the new run tells the old one.
    const newer = await client.workflow.start(productionReleaseWorkflow, {
      taskQueue,
      workflowId: pipelineWorkflowId('production', repository, VERSION),
      args: [{ repository, version: VERSION, commit: COMMIT, ...settings }],
    });
    const outcome = await older.result();
    assert.equal(outcome.state, 'superseded');
    assert.equal(outcome.supersededBy, VERSION);
    assert.equal((await older.query(productionStatusQuery)).state, 'superseded');
    assert.equal((await newer.result()).state, 'healthy');
  });

  it('a healthy window marks production good and ends healthy', async () => {
    const handle = await start();
    const outcome = await handle.result();
    assert.equal(outcome.state, 'healthy');
    assert.equal(outcome.verdict, 'healthy');
    assert.equal(outcome.previousVersion, PREVIOUS);
    assert.deepEqual(names(), [
      'promoteArtifact',
      'deployVersion',
      'hotfixOfVersion',
      ...Array(10).fill('measureHealth'),
      'markGood',
      'hotfixOfVersion',
    ]);
    assert.equal(outcome.closedIncident, undefined, 'a release that is no hotfix closes no incident');
    assert.deepEqual(calls[1]!.input, {
      repository: handle.workflowId.split(':')[1],
      env: 'production',
      version: VERSION,
      artifact: { repository: 'prod', tag: VERSION },
      // What the copy to production stored is what is deployed, or refused (ArtifactChanged).
      digest: `sha256:${'b'.repeat(64)}`,
      by: handle.workflowId,
    });
    // Consecutive intervals of one minute covering the window.
    const windows = inputsOf<{ from: number; to: number }>('measureHealth');
    windows.forEach((w, i) => {
      assert.equal(w.to - w.from, 60_000);
      if (i > 0) assert.equal(w.from, windows[i - 1]!.to);
    });
    const status = await handle.query(productionStatusQuery);
    assert.equal(status.state, 'succeeded');
    assert.equal(status.environments.production, VERSION);
    assert.equal(status.health?.verdict, 'healthy');
    assert.equal(status.health?.sampleCount, 10);
    assert.equal(status.awaitingDecision, false);
    assert.deepEqual(status.pages, []);
    const watched = statuses();
    assert.equal(watched.length, 3, JSON.stringify(watched));
    assert.equal(watched[0], `pending: deploying ${VERSION} to production`);
    assert.match(watched[1]!, new RegExp(`^pending: ${VERSION} in production; watching its health until `));
    assert.match(watched[2]!, new RegExp(`^success: ${VERSION} healthy in production: `));
  });

  it('a breach alerts the development team with the decision commands and waits', async () => {
    const { handle, status } = await breached();
    assert.equal(status.health?.verdict, 'breach');
    assert.equal(status.health?.sampleCount, 3, 'decided at the third bad sample, before the window ends');
    assert.equal(status.step, 'await decision');
    assert.equal(status.state, 'running');
    assert.ok(!names().includes('markGood'));
    const [first] = pages();
    assert.equal(first!.kind, 'decision-needed');
    assert.equal(first!.team, 'development');
    assert.equal(first!.verdict, 'breach');
    assert.equal(first!.round, 1);
    assert.match(first!.key, new RegExp(`^${handle.workflowId}/.+/decision-needed/1$`));
    assert.deepEqual(first!.deciders, { emergency: 'anyone', rollback: 'anyone', failForward: 'anyone' });
    await handle.terminate('test over');
  });

  it('re-alerts while no decision arrives and escalates to operations once', async () => {
    const { handle } = await breached();
    await env.sleep('30 minutes');
    await until(handle, (s) => s.pages?.length === 2);
    await env.sleep('95 minutes');
    await until(handle, (s) => s.pages?.length === 5);
    await env.sleep('10 hours');
    const status = await handle.query(productionStatusQuery);
    assert.deepEqual(
      status.pages?.map((p) => `${p.kind}:${p.team}`),
      [
        'decision-needed:development',
        'decision-needed:development',
        'decision-needed:development',
        'decision-needed:development',
        'escalation:operations',
      ],
    );
    const keys = pages().map((p) => p.key);
    assert.equal(new Set(keys).size, keys.length, 'every page has its own idempotency key');
    assert.equal(pages().filter((p) => p.kind === 'escalation').length, 1);
    const waited = pages()[4]!.waitedMs!;
    assert.ok(waited >= 2 * 60 * 60_000 && waited < 2 * 60 * 60_000 + 60_000, `escalated after ${waited} ms`);
    assert.equal(status.awaitingDecision, true, 'still waiting after escalation');
    await handle.signal(failForwardSignal, { by: 'alice', reason: 'patch coming' });
    assert.equal((await handle.result()).state, 'failed-forward');
  });

  it('an APM that cannot be read ends the watch inconclusive and pages as a warning', async () => {
    sample = () => ({ queryError: 'prometheus: 503' }) as unknown as Omit<HealthSample, 'at'>;
    const handle = await start();
    await env.sleep('3 minutes');
    const status = await until(handle, (s) => s.awaitingDecision === true && (s.pages?.length ?? 0) === 1);
    assert.equal(status.health?.verdict, 'inconclusive');
    assert.equal(pages()[0]!.verdict, 'inconclusive');
    const reported = await waitFor(() => posted.find((p) => p.state !== 'pending'), 5_000);
    assert.equal(
      reported?.state,
      'error',
      'an APM that cannot judge is an error of the check, not a red release',
    );
    assert.match(reported.description, new RegExp(`^${VERSION} inconclusive: .*; awaiting a decision$`));
    await handle.terminate('test over');
  });

  it('emergency: pages operations, forces staging, HOT ticket, page and branch, hotfix-only, lock released', async () => {
    const { handle } = await breached();
    // Something else is busy on staging: the emergency takes it away.
    const holder = await client.workflow.start(lockProbeWorkflow, {
      taskQueue,
      workflowId: unique('tag-pipeline-probe'),
      args: [{ resource: 'staging', holdMs: HOLD_UNTIL_OPENED, purpose: 'tag pipeline of another release' }],
    });
    await untilStatus(client, 'staging', (s) => s.holder?.workflowId === holder.workflowId);
    calls.length = 0;

    await handle.signal(emergencySignal, { by: 'alice', reason: 'checkout is down' });
    const outcome = await handle.result();

    assert.equal(outcome.state, 'hotfix-pending');
    assert.deepEqual(
      { ...outcome.hotfix, ticket: undefined, wiki: undefined },
      {
        id: 'HOT-7',
        branch: 'HOT-7',
        state: 'pending',
        ticketUrl: 'file:///tickets/HOT-7.md',
        wikiUrl: 'file:///wiki/HOT-7.md',
        ticket: undefined,
        wiki: undefined,
      },
    );
    assert.equal(outcome.hotfix?.ticket?.state, 'done');
    assert.equal(outcome.hotfix?.wiki?.state, 'done');
    // The incident is numbered by its record; the ticket and page are filed beside the branch.
    assert.deepEqual(names().slice(0, 5), [
      'hotfixOfVersion',
      'pageReleaseAlert',
      'requestLock',
      'rollbackEnvironment',
      'reserveIncident',
    ]);
    assert.deepEqual(names().slice(5, -1).sort(), [
      'createHotfixBranch',
      'openIncidentTicket',
      'publishRetrospective',
    ]);
    assert.equal(names().at(-1), 'linkIncidentDocuments');
    const [escalation] = pages();
    assert.equal(escalation!.kind, 'emergency');
    assert.equal(escalation!.team, 'operations');
    assert.equal(escalation!.decision?.by, 'alice');
    const [lockRequest] = inputsOf<{ resource: string; request: { priority: string; force?: unknown } }>(
      'requestLock',
    );
    assert.equal(lockRequest!.resource, 'staging');
    assert.equal(lockRequest!.request.priority, 'hotfix');
    assert.deepEqual(lockRequest!.request.force, {
      by: 'alice',
      reason: `emergency of ${handle.workflowId.split(':')[1]} ${VERSION}: checkout is down`,
      decision: 'emergency',
      repository: handle.workflowId.split(':')[1],
      version: VERSION,
    });
    const [staging] = inputsOf<{ env: string; to: string; fencingToken?: number }>('rollbackEnvironment');
    assert.equal(staging!.env, 'staging');
    assert.equal(staging!.to, 'last-good');
    assert.equal(typeof staging!.fencingToken, 'number');
    const [ticket] = inputsOf<{
      kind: string;
      id?: string;
      decision: { name: string; by: string; reason?: string };
    }>('openIncidentTicket');
    assert.equal(ticket!.kind, 'HOT');
    assert.equal(ticket!.id, 'HOT-7', 'the ticket takes the id the incident record gave');
    assert.deepEqual(
      { name: ticket!.decision.name, by: ticket!.decision.by, reason: ticket!.decision.reason },
      { name: 'emergency', by: 'alice', reason: 'checkout is down' },
    );
    const [wiki] = inputsOf<{
      page: unknown;
      retrospective: { decision: { by: string }; previousVersion: string };
    }>('publishRetrospective');
    assert.deepEqual(wiki!.page, { id: 'HOT-7' });
    assert.equal(wiki!.retrospective.decision.by, 'alice');
    assert.equal(wiki!.retrospective.previousVersion, PREVIOUS);
    assert.deepEqual(inputsOf('createHotfixBranch'), [
      { repository: handle.workflowId.split(':')[1], branch: 'HOT-7', tag: VERSION },
    ]);

    const probe = await holder.result();
    assert.equal(probe.outcome, 'preempted');
    assert.equal(probe.revocation?.by, 'alice');
    const lock = await untilStatus(client, 'staging', (s) => s.holder === null);
    assert.equal(lock.mode.mode, 'hotfixOnly');
    assert.equal(lock.mode.by, 'alice');
    assert.match(lock.mode.reason, /^HOT-7: /);

    const status = await handle.query(productionStatusQuery);
    assert.equal(status.state, 'hotfix-pending');
    assert.equal(status.hotfix?.state, 'pending');
    assert.equal(status.decisions?.length, 1);
    assert.equal(status.decisions![0]!.by, 'alice');
    assert.equal(status.decisions![0]!.reason, 'checkout is down');
    assert.equal(status.decisions![0]!.via, 'signal');
    assert.ok(Date.parse(status.decisions![0]!.at) >= Date.parse(status.awaitingSince!));
    // release-flow/production: red once breached, and again naming the decision.
    const reported = statuses();
    assert.match(reported.at(-2)!, new RegExp(`^failure: ${VERSION} breach: .*; awaiting a decision$`));
    assert.equal(reported.at(-1), `failure: ${VERSION} breach; emergency decided by alice`);

    await client.workflow
      .getHandle('lock:staging')
      .signal(setModeSignal, { mode: 'normal', by: 'test', reason: 'next test' });
    await untilStatus(client, 'staging', (s) => s.mode.mode === 'normal');
  });

  it('a ticket system that is down never holds the emergency: branch and hotfix-only at once, the ticket pending with its last error, filed when it answers', async () => {
    const { handle } = await breached();
    let down = true;
    const away = (what: string) => {
      throw new Error(`Jira at https://jira.example answered 503 Service Unavailable to ${what}`);
    };
    const base = stubs([], () => healthy, {});
    overrides = {
      openIncidentTicket: async (input) => {
        calls.push({ name: 'openIncidentTicket', input });
        if (down) away('create issue HOT-7');
        return await base.openIncidentTicket!(input);
      },
      publishRetrospective: async (input) => {
        calls.push({ name: 'publishRetrospective', input });
        if (down) away('publish page HOT-7');
        return await base.publishRetrospective!(input);
      },
    };
    calls.length = 0;
    await handle.signal(emergencySignal, { by: 'alice', reason: 'checkout is down' });
    const pending = await until(
      handle,
      (s) =>
        s.hotfix?.ticket?.lastError !== undefined &&
        s.steps.some((st) => st.name === 'staging lock hotfix-only' && st.state === 'done'),
    );
    assert.ok(names().includes('pageReleaseAlert'), 'operations were paged');
    assert.ok(names().includes('createHotfixBranch'), 'the branch was made');
    const lock = await untilStatus(client, 'staging', (s) => s.holder === null);
    assert.equal(lock.mode.mode, 'hotfixOnly', 'staging is hotfix-only and released');
    assert.deepEqual(
      lock.incidents.map((h) => [h.id, h.repository]),
      [['HOT-7', handle.workflowId.split(':')[1]]],
      'the lock says which incident holds it',
    );
    assert.equal(pending.state, 'running');
    assert.equal(pending.hotfix?.id, 'HOT-7');
    assert.equal(pending.hotfix?.ticket?.state, 'pending');
    assert.match(pending.hotfix?.ticket?.lastError ?? '', /503 Service Unavailable to create issue HOT-7/);
    assert.equal(pending.hotfix?.ticketUrl, '');

    down = false;
    const outcome = await handle.result();
    assert.equal(outcome.state, 'hotfix-pending');
    assert.equal(outcome.hotfix?.ticketUrl, 'file:///tickets/HOT-7.md');
    assert.equal(outcome.hotfix?.wikiUrl, 'file:///wiki/HOT-7.md');
    assert.equal(outcome.hotfix?.ticket?.state, 'done');
    assert.ok((outcome.hotfix?.ticket?.attempts ?? 0) >= 2, 'the ticket was retried');
    assert.equal(outcome.hotfix?.ticket?.lastError, undefined);
    assert.deepEqual(
      inputsOf<{ ticketUrl?: string }>('linkIncidentDocuments').at(-1)?.ticketUrl,
      'file:///tickets/HOT-7.md',
    );

    await client.workflow
      .getHandle('lock:staging')
      .signal(setModeSignal, { mode: 'normal', by: 'test', reason: 'next test' });
    await untilStatus(client, 'staging', (s) => s.mode.mode === 'normal');
  });

  it('rollback: marks the version bad everywhere, production to the previous version, then forces staging back, ROLLBACK page, lock free', async () => {
    const { handle } = await breached();
    calls.length = 0;
    await handle.signal(rollbackSignal, { by: 'bob' });
    const outcome = await handle.result();
    assert.equal(outcome.state, 'rolled-back');
    assert.deepEqual(outcome.retrospective, { id: 'ROLLBACK-3', url: 'file:///wiki/ROLLBACK-3.md' });
    assert.deepEqual(names(), [
      'markBad',
      'rollbackEnvironment',
      'requestLock',
      'rollbackEnvironment',
      'publishRetrospective',
    ]);
    const [bad] = inputsOf<{ envs: string[]; version: string }>('markBad');
    assert.deepEqual(bad!.envs, ['dev', 'staging', 'production']);
    assert.equal(bad!.version, VERSION);
    const [lockRequest] = inputsOf<{ request: { priority: string; force?: { by: string } } }>('requestLock');
    assert.equal(lockRequest!.request.force?.by, 'bob');
    const [production, staging] = inputsOf<{
      env: string;
      to: string;
      fromVersion?: string;
      fencingToken?: number;
    }>('rollbackEnvironment');
    assert.equal(staging!.env, 'staging');
    assert.equal(staging!.to, 'last-good');
    assert.equal(typeof staging!.fencingToken, 'number');
    assert.equal(production!.env, 'production');
    assert.equal(production!.to, 'previous');
    assert.equal(production!.fromVersion, VERSION);
    assert.deepEqual(inputsOf<{ page: unknown }>('publishRetrospective')[0]!.page, { kind: 'ROLLBACK' });
    assert.ok(!names().includes('openIncidentTicket') && !names().includes('createHotfixBranch'));
    const lock = await untilStatus(client, 'staging', (s) => s.holder === null);
    assert.equal(lock.mode.mode, 'normal');
    const status = await handle.query(productionStatusQuery);
    assert.equal(status.state, 'rolled-back');
    assert.equal(status.environments.production, PREVIOUS);
    assert.equal(status.environments.staging, 'v1.2.9');
  });

  it('failForward through the update: answered with the record; only what was paged is resolved', async () => {
    const { handle } = await breached();
    calls.length = 0;
    const record = await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'failForward', by: 'carol', reason: 'fix is merged' }],
    });
    assert.equal(record.decision, 'failForward');
    assert.equal(record.by, 'carol');
    assert.equal(record.reason, 'fix is merged');
    assert.equal(record.via, 'update');
    assert.equal((await handle.result()).state, 'failed-forward');
    assert.deepEqual(names(), ['resolveReleaseAlerts']);
    assert.match(String((calls[0]!.input as { reason: string }).reason), /failed forward by carol/);
    const status = await handle.query(productionStatusQuery);
    assert.equal(status.state, 'failed-forward');
    assert.deepEqual(status.decisions, [record]);
  });

  it('early, unknown, unauthorised and duplicate decisions change nothing and say why', async () => {
    sample = () => failing;
    const deciders = { rollback: ['team:sre'], emergency: ['alice'], teams: { sre: ['bob'] } };
    const handle = await start({ deciders });
    await until(handle, (s) => s.step === 'watch production health');

    // Early: production is still being watched.
    assert.match(
      await rejection(handle.executeUpdate(decideUpdate, { args: [{ decision: 'rollback', by: 'bob' }] })),
      /^no decision is awaited: production is being watched until/,
    );
    await handle.signal(rollbackSignal, { by: 'bob', reason: 'too early' });
    await until(handle, (s) => s.rejectedDecisions?.length === 1);

    await env.sleep('4 minutes');
    await until(handle, (s) => s.awaitingDecision === true);
    assert.match(
      await rejection(
        handle.executeUpdate(decideUpdate, { args: [{ decision: 'panic' as never, by: 'bob' }] }),
      ),
      /^unknown decision "panic"/,
    );
    assert.match(
      await rejection(handle.executeUpdate(decideUpdate, { args: [{ decision: 'rollback', by: ' ' }] })),
      /"by" must be a non-empty name/,
    );
    assert.match(
      await rejection(
        handle.executeUpdate(decideUpdate, { args: [{ decision: 'rollback', by: 'mallory' }] }),
      ),
      /^mallory may not decide rollback: allowed are team:sre \(bob\)/,
    );
    await handle.signal(emergencySignal, { by: 'bob' });
    await handle.signal('fail-forward', { by: 'bob' });
    await until(handle, (s) => s.rejectedDecisions?.length === 3);

    // Accepted (the team member, any case); the rollback is held mid-way to try duplicates.
    let finish!: () => void;
    const held = new Promise<void>((resolve) => (finish = resolve));
    overrides = {
      publishRetrospective: async () => {
        await held;
        return { id: 'ROLLBACK-3', url: 'file:///wiki/ROLLBACK-3.md', created: true };
      },
    };
    const record = await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'rollback', by: 'Bob', reason: 'error rate' }],
    });
    assert.equal(record.by, 'Bob');
    assert.match(
      await rejection(handle.executeUpdate(decideUpdate, { args: [{ decision: 'failForward', by: 'bob' }] })),
      /^already decided: rollback by Bob at /,
    );
    await handle.signal(emergencySignal, { by: 'alice', reason: 'second thoughts' });
    const status = await until(handle, (s) => s.rejectedDecisions?.length === 4);
    finish();
    assert.equal((await handle.result()).state, 'rolled-back');

    assert.deepEqual(
      status.rejectedDecisions!.map((r) => [r.decision, r.by, r.via]),
      [
        ['rollback', 'bob', 'signal'],
        ['emergency', 'bob', 'signal'],
        ['fail-forward', 'bob', 'signal'],
        ['emergency', 'alice', 'signal'],
      ],
    );
    const whys = status.rejectedDecisions!.map((r) => r.why);
    assert.match(whys[0]!, /^no decision is awaited/);
    assert.match(whys[1]!, /^bob may not decide emergency: allowed are alice/);
    assert.match(whys[2]!, /^unknown decision "fail-forward".*did you mean failForward\?/);
    assert.match(whys[3]!, /^already decided: rollback by Bob/);
    assert.equal(status.rejectedDecisions![0]!.reason, 'too early');
    assert.equal(status.decisions?.length, 1);
    assert.equal(inputsOf('requestLock').length, 1, 'only the accepted decision acted');
  });

  it('a deploy that fails alerts the development team and fails the pipeline without watching', async () => {
    overrides = {
      deployVersion: async () => {
        throw ApplicationFailure.nonRetryable('artifact v1.3.0 not in prod', 'ArtifactNotFound');
      },
    };
    const handle = await start();
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.equal((err.cause as ApplicationFailure).type, 'PipelineFailed');
      assert.match(err.cause!.message, /failed at deploy production: artifact v1.3.0 not in prod/);
      return true;
    });
    assert.deepEqual(names(), ['promoteArtifact', 'notifyPipelineFailure']);
    const status = await handle.query(productionStatusQuery);
    assert.equal(status.state, 'failed');
    assert.equal(status.failure?.step, 'deploy production');
  });
});
