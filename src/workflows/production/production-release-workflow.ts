/**
 * Stage 3: a released version goes to production (MISSION.md). Copy the artifact to the
 * production repository, deploy it, and watch the error rate for the configured window, one APM
 * sample per interval, judged by the health verdicts (src/domain/health-verdict.ts).
 *
 * - Healthy: production's version is marked good; the run ends `healthy`.
 * - Breach, and also `inconclusive` (the APM could not be read) and `not-enough-data` (too little
 *   traffic to judge): a person must look. The rules say an APM outage or silence never passes
 *   for an all-clear, and paging on them is how a person gets to look; the page says which
 *   verdict it is (breach pages are critical, the other two warnings). The development team is
 *   asked for a decision, asked again every `realertAfter`, and operations are paged once after
 *   `escalateAfter`; after that the run waits quietly (the status shows `awaitingDecision`).
 *
 * Decisions (messages.ts): signals `emergency`, `rollback`, `failForward` with
 * `{ by, reason? }`, or the update `decide` with `{ decision, by, reason? }` for an answer. One
 * decision is taken, from someone `deciders` allows, while one is awaited; anything else changes
 * nothing and says why (update rejection, `rejectedDecisions` in the status, the log).
 *
 * - emergency: page operations; force the staging lock (hotfix priority) and roll this
 *   repository's staging back to its last good version; ticket, wiki page and branch `HOT-<n>`
 *   (the branch off the deployed version's tag); staging lock to hotfix-only; release the lock.
 *   Ends `hotfix-pending` with `status.hotfix` (the hotfix pipeline is a later issue).
 * - rollback: force the staging lock, roll staging back to last good, wiki page `ROLLBACK-<n>`,
 *   production back to its previous version, release the lock. Ends `rolled-back`.
 * - failForward: recorded; ends `failed-forward`.
 *
 * The commit status `release-flow/production` follows the run (best effort): pending while
 * deploying and watching, success when healthy or superseded, failure on a breach (error when
 * the APM could not judge), posted again once a decision is taken.
 *
 * Every page, ticket and page key is derived from the workflow id and run id: a retried activity
 * or a restarted worker never pages or files twice, and a later run of the same id (a re-promote
 * after a failure) is not silenced by the earlier run's keys.
 */
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import {
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setDefaultSignalHandler,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { PipelineActivities } from '../../activities/pipeline';
import { FailureTypes } from '../../domain/failures';
import type { ReleasePage, ReleasePageKind } from '../../activities/production-alerts';
import {
  defaultHealthParameters,
  healthParameterProblems,
  HealthVerdicts,
  judgeHealth,
  type HealthParameters,
  type HealthSample,
  type HealthVerdict,
  type HealthVerdictKind,
} from '../../domain/health-verdict';
import { IncidentKinds } from '../../domain/incident-ids';
import {
  decisionRejection,
  describeDeciders,
  Decisions,
  isDecision,
  type Decision,
  type DecisionRecord,
} from '../../domain/production-decisions';
import type { ReleaseEvent } from '../../domain/retrospective-template';
import { acquire, isLockRevoked, type HeldLock } from '../lock/acquire';
import { lockWorkflowId, setModeSignal, type LockRevocation } from '../lock/messages';
import { StatusContexts, type CommitState } from '../../domain/commit-status';
import { commitStatusReporter, firstLine } from '../shared/commit-statuses';
import { PipelineStates, pipelineWorkflowId } from '../shared/messages';
import { describeFailure, runStep } from '../shared/steps';
import {
  decideUpdate,
  emergencySignal,
  failForwardSignal,
  rollbackSignal,
  supersededSignal,
  productionStatusQuery,
  type DecisionPayload,
  type HotfixStatus,
  type ProductionOutcome,
  type ProductionReleaseInput,
  type ProductionStatus,
  type RejectedDecision,
  type SupersededNotice,
} from './messages';

export type { ProductionOutcome, ProductionReleaseInput };

const DEFAULTS = {
  window: '30 minutes',
  sampleInterval: '1 minute',
  realertAfter: '15 minutes',
  escalateAfter: '1 hour',
  developmentTeam: 'development',
  operationsTeam: 'operations',
} as const;
/** Samples per window at most (the interval is raised to fit): bounds the history. */
export const MAX_SAMPLES_PER_WINDOW = 240;
/** Samples shown in the status query. */
const STATUS_SAMPLES = 30;
/** Rejected decisions kept in the status (a count of all is kept beside them in the log). */
const MAX_REJECTED = 20;
const STAGING = 'staging';

/**
 * Forced take-over puts the revoked holder's own staging (its repository's) back to its last good
 * version; before it, only the forcer's repository was rolled back.
 */
export const RESTORE_PREEMPTED_PATCH = 'restore-preempted-staging';
/**
 * Rollback marks the version bad everywhere, rolls production back without waiting for staging,
 * then takes staging (after a hotfix holder, in hotfix-only mode) and returns it to the version
 * it ran before this one.
 */
export const ROLLBACK_MARKS_BAD_PATCH = 'rollback-marks-bad';
/**
 * Emergencies record their incident (an emergency on a hotfix continues its incident), and a
 * healthy hotfix ends hotfix-only mode and closes its incident (README "Hotfix flow").
 */
export const HOTFIX_INCIDENTS_PATCH = 'hotfix-incidents';

/** A fail-forward decision closes what was opened about the release (its PagerDuty incident). */
export const RESOLVE_ON_FAIL_FORWARD_PATCH = 'resolve-on-fail-forward';

const quick = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 10, initialInterval: '2 seconds' },
});

// Tickets and retrospective pages live in other systems (Jira, Confluence, GitHub): one that is
// down for a while never fails the decision, the step waits for it (README "Jira and Confluence").
// Refusals a person must fix are non-retryable and still fail at once.
const documents = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

// A sample that cannot be taken is a failed sample, not a stuck watch: short timeout, one retry.
const probes = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 2, initialInterval: '2 seconds' },
});

interface Settings {
  windowMs: number;
  intervalMs: number;
  parameters: HealthParameters;
  realertMs: number;
  escalateMs: number;
  developmentTeam: string;
  operationsTeam: string;
}

function durationMs(name: string, value: Duration | undefined, fallback: Duration): number {
  let ms: number;
  try {
    ms = msToNumber(value ?? fallback);
  } catch {
    ms = NaN;
  }
  if (!(Number.isFinite(ms) && ms > 0)) {
    throw ApplicationFailure.nonRetryable(
      `${name} must be a positive duration such as '15 minutes' or a number of milliseconds, got ${JSON.stringify(value)}`,
      FailureTypes.invalidInput,
    );
  }
  return ms;
}

function resolveSettings(input: ProductionReleaseInput): Settings {
  const parameters = { ...defaultHealthParameters, ...(input.health?.parameters ?? {}) };
  const problems = healthParameterProblems(parameters);
  if (problems.length) {
    throw ApplicationFailure.nonRetryable(
      `health parameters: ${problems.join('; ')}`,
      FailureTypes.invalidInput,
    );
  }
  const windowMs = durationMs('health.window', input.health?.window, DEFAULTS.window);
  const asked = durationMs('health.sampleInterval', input.health?.sampleInterval, DEFAULTS.sampleInterval);
  return {
    windowMs,
    intervalMs: Math.min(windowMs, Math.max(asked, Math.ceil(windowMs / MAX_SAMPLES_PER_WINDOW))),
    parameters,
    realertMs: durationMs('escalation.realertAfter', input.escalation?.realertAfter, DEFAULTS.realertAfter),
    escalateMs: durationMs(
      'escalation.escalateAfter',
      input.escalation?.escalateAfter,
      DEFAULTS.escalateAfter,
    ),
    developmentTeam: input.escalation?.developmentTeam ?? DEFAULTS.developmentTeam,
    operationsTeam: input.escalation?.operationsTeam ?? DEFAULTS.operationsTeam,
  };
}

// The workflow clock (Date is deterministic inside a workflow).
function now(): number {
  return new Date().getTime();
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Takes a released version to production and watches it; on trouble, waits for a person's
 * decision and carries it out (see the module comment). Answers `status`; told `emergency`,
 * `rollback`, `failForward` and `decide`. Ends with a ProductionOutcome, or fails with
 * PipelineFailed (the development team is alerted) when a step fails.
 */
export async function productionReleaseWorkflow(input: ProductionReleaseInput): Promise<ProductionOutcome> {
  const { repository, version } = input;
  // `release-flow/production` on the released commit (issue 7): pending while deploying and
  // watching; success when healthy; failure (error when the APM could not judge) once in trouble,
  // then again naming the decision taken.
  const statuses = commitStatusReporter({
    repository,
    commit: input.commit,
    context: StatusContexts.production,
  });
  const info = workflowInfo();
  const workflowId = info.workflowId;
  const keyPrefix = `${workflowId}/${info.firstExecutionRunId}`;
  const status: ProductionStatus = {
    stage: 'production',
    repository,
    commit: input.commit,
    version,
    state: PipelineStates.running,
    step: 'copy artifact to production',
    steps: [],
    environments: {},
    awaitingDecision: false,
    decisions: [],
    rejectedDecisions: [],
    pages: [],
  };
  const timeline: ReleaseEvent[] = [];
  // Why a decision now would be refused, in words (the rejection says it).
  let notAwaitedBecause = 'the release is being deployed to production';
  let accepted: DecisionRecord | undefined;

  // Handlers first: the UI lists only what is registered when it asks, and early signals are kept.
  setHandler(productionStatusQuery, () => status, {
    description:
      'Stage, step, versions per environment, health samples and verdict, awaitingDecision, decisions taken and rejected, hotfix.',
  });

  const context = () => ({
    awaiting: status.awaitingDecision === true,
    ...(accepted ? { taken: accepted } : {}),
    notAwaitedBecause,
  });

  const reject = (name: string, payload: unknown, via: 'signal' | 'update', why: string): void => {
    const p = (payload ?? {}) as Partial<DecisionPayload>;
    const record: RejectedDecision = {
      decision: name,
      by: typeof p.by === 'string' ? p.by : '',
      ...(typeof p.reason === 'string' ? { reason: p.reason } : {}),
      at: iso(now()),
      via,
      why,
    };
    const list = status.rejectedDecisions ?? [];
    list.push(record);
    status.rejectedDecisions = list.slice(-MAX_REJECTED);
    log.warn('decision rejected', { decision: name, by: record.by, via, why });
  };

  const accept = (decision: Decision, payload: DecisionPayload, via: 'signal' | 'update'): DecisionRecord => {
    const reason =
      typeof payload.reason === 'string' && payload.reason.trim() ? payload.reason.trim() : undefined;
    const record: DecisionRecord = {
      decision,
      by: payload.by.trim(),
      ...(reason ? { reason } : {}),
      at: iso(now()),
      via,
    };
    accepted = record;
    status.decisions = [...(status.decisions ?? []), record];
    status.awaitingDecision = false;
    notAwaitedBecause = `${decision} was decided by ${record.by}`;
    timeline.push({
      at: now(),
      what: `decision: ${decision}${reason ? ` (${reason})` : ''}`,
      by: record.by,
    });
    log.info('decision accepted', { decision, by: record.by, via });
    return record;
  };

  const onSignal = (name: string, payload: unknown): void => {
    const p = (payload ?? {}) as Partial<DecisionPayload>;
    const why = decisionRejection(context(), input.deciders, { decision: name, by: p.by });
    if (why) return reject(name, payload, 'signal', why);
    accept(name as Decision, p as DecisionPayload, 'signal');
  };

  const decisionSignals = [
    [
      emergencySignal,
      Decisions.emergency,
      'Declare an emergency (SEV-1): page operations, force staging, HOT-<n> ticket, wiki page and branch, staging hotfix-only. Payload {"by":"NAME","reason":"..."}.',
    ],
    [
      rollbackSignal,
      Decisions.rollback,
      'Roll this release back: production to the previous version, staging to last good, ROLLBACK-<n> page. Payload {"by":"NAME","reason":"..."}.',
    ],
    [
      failForwardSignal,
      Decisions.failForward,
      'Fail forward: record the decision and change nothing. Payload {"by":"NAME","reason":"..."}.',
    ],
  ] as const;
  for (const [signal, name, description] of decisionSignals) {
    setHandler(signal, (payload) => onSignal(name, payload), { description });
  }
  setHandler(
    decideUpdate,
    (request) => {
      // The validator ran in this same activation, so nothing can have changed since.
      return accept(request.decision, request, 'update');
    },
    {
      validator: (request) => {
        const r = (request ?? {}) as Partial<typeof request>;
        const why = decisionRejection(context(), input.deciders, { decision: r.decision, by: r.by });
        if (why) {
          log.warn('decision rejected', {
            decision: String(r.decision),
            by: String(r.by),
            via: 'update',
            why,
          });
          throw ApplicationFailure.create({
            message: why,
            type: FailureTypes.decisionRejected,
            nonRetryable: true,
          });
        }
      },
      description:
        'Take a decision and get an answer: {"decision":"emergency|rollback|failForward","by":"NAME","reason":"..."}. Returns who/when/why, or is rejected saying why.',
    },
  );
  // A mistyped signal name (fail-forward, roll-back) would otherwise wait unseen in the history.
  setDefaultSignalHandler((name, ...args) => {
    const why = isDecision(name)
      ? 'internal: no handler'
      : (decisionRejection(context(), input.deciders, { decision: name, by: 'x' }) ?? 'unknown signal');
    reject(name, args[0], 'signal', why);
  });

  let superseded: SupersededNotice | undefined;
  setHandler(
    supersededSignal,
    (notice) => {
      superseded ??= notice;
    },
    {
      description:
        'From the next release of this repository once it runs in production: {version, workflowId}. Ends the health watch as superseded.',
    },
  );

  const settings = resolveSettings(input);
  let previousVersion: string | null = null;
  let verdict: HealthVerdict | undefined;

  statuses.post('pending', `deploying ${version} to production`);
  try {
    await runStep(status, 'copy artifact to production', async () => {
      const copied = await quick.promoteArtifact({ repository, version });
      return { value: copied, detail: `prod:${version} = ${copied.digest.slice(0, 19)}` };
    });
    await runStep(status, 'deploy production', async () => {
      const result = await quick.deployVersion({
        repository,
        env: 'production',
        version,
        artifact: { repository: 'prod', tag: version },
        by: workflowId,
      });
      // The deploy's own record knows what ran before, also when a retry found it already deployed.
      const before = result.state.previous?.version ?? null;
      previousVersion = before && before !== version ? before : null;
      status.environments.production = version;
      timeline.push({ at: now(), what: `deployed ${version} to production` });
      return { value: result, detail: result.note };
    });
    if (previousVersion) {
      // The release this one replaced stops watching: production traffic is ours now.
      await getExternalWorkflowHandle(pipelineWorkflowId('production', repository, previousVersion))
        .signal(supersededSignal, { version, workflowId })
        .catch(() => undefined);
    }

    verdict = await runStep(status, 'watch production health', async () => {
      const v = await watchHealth();
      return {
        value: v,
        detail: superseded ? `superseded by ${superseded.version}` : `${v.verdict}: ${v.reason}`,
      };
    });
    if (superseded) {
      notAwaitedBecause = `${superseded.version} replaced this release in production`;
      status.state = PipelineStates.superseded;
      statuses.post('success', `${version} replaced by ${superseded.version} in production, no breach seen`);
      return {
        state: 'superseded',
        version,
        previousVersion,
        verdict: verdict.verdict,
        reason: `superseded by ${superseded.version}`,
        supersededBy: superseded.version,
      };
    }

    if (verdict.verdict === HealthVerdicts.healthy) {
      notAwaitedBecause = `production was healthy: ${verdict.reason}`;
      await runStep(status, 'mark production good', async () => {
        const result = await quick.markGood({ repository, env: 'production', version, by: workflowId });
        return { value: result, detail: result.note };
      });
      const closedIncident = patched(HOTFIX_INCIDENTS_PATCH) ? await closeHotfixIncident() : undefined;
      status.state = PipelineStates.succeeded;
      statuses.post('success', `${version} healthy in production: ${verdict.reason}`);
      return {
        state: 'healthy',
        version,
        previousVersion,
        verdict: verdict.verdict,
        reason: verdict.reason,
        ...(closedIncident ? { closedIncident } : {}),
      };
    }

    const trouble = verdict;
    timeline.push({
      at: trouble.decidedAt ?? now(),
      what: `health ${trouble.verdict}: ${trouble.reason}`,
    });
    // A breach failed the release; an APM that could not judge it is the check's own error.
    const troubleState: CommitState = trouble.verdict === HealthVerdicts.breach ? 'failure' : 'error';
    statuses.post(troubleState, `${version} ${trouble.verdict}: ${trouble.reason}; awaiting a decision`);
    const decision = await runStep(status, 'await decision', async () => {
      const d = await awaitDecision(trouble);
      return { value: d, detail: `${d.decision} by ${d.by}` };
    });
    statuses.post(
      troubleState,
      `${version} ${trouble.verdict}; ${decision.decision} decided by ${decision.by}`,
    );
    const base = { version, previousVersion, verdict: trouble.verdict, reason: trouble.reason, decision };

    if (decision.decision === Decisions.failForward) {
      if (patched(RESOLVE_ON_FAIL_FORWARD_PATCH)) {
        await quick.resolveReleaseAlerts({
          repository,
          version,
          reason: `failed forward by ${decision.by}`,
        });
      }
      status.state = PipelineStates.failedForward;
      return { state: 'failed-forward', ...base };
    }
    if (decision.decision === Decisions.rollback) {
      const page = await rollBack(decision, trouble);
      status.state = PipelineStates.rolledBack;
      return { state: 'rolled-back', ...base, retrospective: page };
    }
    const hotfix = await declareEmergency(decision, trouble);
    status.state = PipelineStates.hotfixPending;
    return {
      state: 'hotfix-pending',
      ...base,
      hotfix,
      retrospective: { id: hotfix.id, url: hotfix.wikiUrl },
    };
  } catch (err) {
    if (isCancellation(err)) throw err;
    status.state = PipelineStates.failed;
    status.awaitingDecision = false;
    const failure = describeFailure(err);
    status.failure = { step: status.step, ...failure };
    statuses.post('failure', `${version} failed at ${status.step}: ${firstLine(failure.message)}`);
    await quick.notifyPipelineFailure({
      repository,
      stage: 'production',
      step: status.step,
      version,
      commit: input.commit,
      message: failure.message,
      ...(failure.log ? { log: failure.log } : {}),
    });
    throw ApplicationFailure.nonRetryable(
      `production pipeline of ${repository} ${version} failed at ${status.step}: ${failure.message}`,
      FailureTypes.pipelineFailed,
    );
  } finally {
    await statuses.settled();
  }

  // ---- the health watch ----

  async function watchHealth(): Promise<HealthVerdict> {
    const start = now();
    const end = start + settings.windowMs;
    notAwaitedBecause = `production is being watched until ${iso(end)}; decide after a breach is alerted`;
    statuses.post('pending', `${version} in production; watching its health until ${iso(end)}`);
    const samples: HealthSample[] = [];
    const health = {
      verdict: HealthVerdicts.watching as HealthVerdictKind,
      reason: 'watching: no sample yet',
      windowStart: iso(start),
      windowEnd: iso(end),
      sampleIntervalMs: settings.intervalMs,
      parameters: settings.parameters,
      sampleCount: 0,
      samples: [] as HealthSample[],
    };
    status.health = health;
    let from = start;
    for (;;) {
      const to = Math.min(from + settings.intervalMs, end);
      const wait = to - now();
      if (wait > 0) await condition(() => superseded !== undefined, wait);
      if (superseded)
        return {
          verdict: HealthVerdicts.watching,
          reason: `superseded by ${superseded.version}`,
        } as HealthVerdict;
      const sample = await measure(from, to);
      samples.push(sample);
      const v = judgeHealth({ samples, parameters: settings.parameters, window: { start, end }, now: to });
      health.verdict = v.verdict;
      health.reason = v.reason;
      health.sampleCount = samples.length;
      health.samples = samples.slice(-STATUS_SAMPLES);
      if (v.verdict !== HealthVerdicts.watching) return v;
      from = to;
    }
  }

  async function measure(from: number, to: number): Promise<HealthSample> {
    try {
      const sample = await probes.measureHealth({ repository, env: 'production', from, to });
      // The window is the workflow's clock: stamp the sample with the interval it answers.
      return { ...sample, at: to };
    } catch (err) {
      if (isCancellation(err)) throw err;
      return { at: to, queryError: describeFailure(err).message.split('\n')[0] ?? 'APM query failed' };
    }
  }

  // ---- waiting for a person ----

  async function awaitDecision(trouble: HealthVerdict): Promise<DecisionRecord> {
    const since = now();
    status.awaitingDecision = true;
    status.awaitingSince = iso(since);
    await page('decision-needed', settings.developmentTeam, `${keyPrefix}/decision-needed/1`, trouble, {
      round: 1,
    });
    let round = 1;
    let escalated = false;
    const escalateAt = since + settings.escalateMs;
    while (!accepted) {
      if (escalated) {
        await condition(() => accepted !== undefined);
        break;
      }
      const nextRealert = since + round * settings.realertMs;
      const next = Math.min(nextRealert, escalateAt);
      if (await condition(() => accepted !== undefined, Math.max(next - now(), 1))) break;
      if (now() >= escalateAt) {
        escalated = true;
        await page('escalation', settings.operationsTeam, `${keyPrefix}/escalation`, trouble, {
          waitedMs: now() - since,
        });
      } else {
        round += 1;
        await page(
          'decision-needed',
          settings.developmentTeam,
          `${keyPrefix}/decision-needed/${round}`,
          trouble,
          {
            round,
            waitedMs: now() - since,
          },
        );
      }
    }
    return accepted as DecisionRecord;
  }

  async function page(
    kind: ReleasePageKind,
    team: string,
    key: string,
    trouble: HealthVerdict,
    extra: Partial<ReleasePage>,
  ): Promise<void> {
    const receipt = await quick.pageReleaseAlert({
      key,
      kind,
      team,
      repository,
      version,
      verdict: trouble.verdict,
      reason: trouble.reason,
      deciders: {
        emergency: describeDeciders(input.deciders, Decisions.emergency),
        rollback: describeDeciders(input.deciders, Decisions.rollback),
        failForward: describeDeciders(input.deciders, Decisions.failForward),
      },
      ...extra,
    });
    const deliveries = receipt?.deliveries ?? [];
    status.pages = [
      ...(status.pages ?? []),
      { key, team, kind, at: iso(now()), ...(deliveries.length ? { deliveries } : {}) },
    ];
    timeline.push({ at: now(), what: `paged ${team} (${kind})` });
  }

  // ---- carrying decisions out ----

  /** Forces the staging lock and rolls this repository's staging back to last good under its token. */
  async function forceStaging(decision: DecisionRecord, priority: 'hotfix' | 'normal'): Promise<HeldLock> {
    const reason = `${decision.decision} of ${repository} ${version}${decision.reason ? `: ${decision.reason}` : ''}`;
    const lock = await runStep(status, 'force the staging lock', async () => {
      const held = await acquire(STAGING, {
        purpose: `${decision.decision} ${repository} ${version}`,
        priority,
        lease: '10 minutes',
        force: { by: decision.by, reason, decision: decision.decision, repository, version },
        subject: { repository, version },
      });
      return { value: held, detail: `token ${held.token}, forced by ${decision.by}` };
    });
    timeline.push({ at: now(), what: 'forced the staging lock', by: decision.by });
    try {
      await runStep(status, 'roll staging back to last good', async () => {
        const result = await lock.run(() =>
          quick.rollbackEnvironment({
            repository,
            env: 'staging',
            to: 'last-good',
            by: workflowId,
            fencingToken: lock.token,
          }),
        );
        status.environments.staging = result.state.current?.version;
        timeline.push({ at: now(), what: `staging rolled back (${result.note})` });
        return { value: result, detail: result.note };
      });
      const revoked = lock.revoked?.subject;
      if (revoked && revoked.repository !== repository && patched(RESTORE_PREEMPTED_PATCH)) {
        // The revoked holder's untested version must not stay in staging: its repository's
        // staging goes back to its own last good version, under our token.
        await runStep(status, `roll ${revoked.repository} staging back to last good`, async () => {
          const result = await lock.run(() =>
            quick.rollbackEnvironment({
              repository: revoked.repository,
              env: 'staging',
              to: 'last-good',
              fromVersion: revoked.version,
              by: workflowId,
              fencingToken: lock.token,
            }),
          );
          timeline.push({
            at: now(),
            what: `${revoked.repository} ${revoked.version} preempted in staging (${result.note})`,
          });
          return { value: result, detail: result.note };
        });
      }
    } catch (err) {
      // Another forcer (a second emergency) took staging: that one now owns it; carry on with the rest.
      if (!isLockRevoked(err)) throw err;
      const r = (err as ApplicationFailure).details?.[0] as LockRevocation | undefined;
      status.preemptedBy = r?.by ?? 'unknown';
    }
    return lock;
  }

  async function rollBack(
    decision: DecisionRecord,
    trouble: HealthVerdict,
  ): Promise<{ id: string; url: string }> {
    if (patched(ROLLBACK_MARKS_BAD_PATCH)) return await rollBackMarkingBad(decision, trouble);
    const lock = await forceStaging(decision, 'normal');
    try {
      const page = await runStep(status, 'retrospective page ROLLBACK-<n>', async () => {
        const ref = await documents.publishRetrospective({
          key: `${keyPrefix}/rollback/wiki`,
          page: { kind: IncidentKinds.rollback },
          retrospective: retrospective(IncidentKinds.rollback, decision, trouble),
        });
        return { value: { id: ref.id, url: ref.url }, detail: ref.id };
      });
      status.retrospective = page;
      await rollProductionBack();
      return page;
    } finally {
      await lock.release();
    }
  }

  /** Production returns to the version it ran before this one. */
  async function rollProductionBack(): Promise<void> {
    await runStep(status, 'roll production back', async () => {
      const result = await quick.rollbackEnvironment({
        repository,
        env: 'production',
        to: 'previous',
        fromVersion: version,
        by: workflowId,
      });
      status.environments.production = result.state.current?.version;
      timeline.push({ at: now(), what: `production rolled back (${result.note})` });
      return { value: result, detail: result.note };
    });
  }

  async function rollBackMarkingBad(
    decision: DecisionRecord,
    trouble: HealthVerdict,
  ): Promise<{ id: string; url: string }> {
    await runStep(status, `mark ${version} bad`, async () => {
      const result = await quick.markBad({
        repository,
        envs: ['dev', 'staging', 'production'],
        version,
        by: workflowId,
        reason: `rolled back by ${decision.by}${decision.reason ? `: ${decision.reason}` : ''}`,
      });
      timeline.push({ at: now(), what: `${version} marked bad`, by: decision.by });
      return { value: result, detail: result.notes.join('; ') };
    });
    // Production first: it does not wait for staging (a hotfix may hold it).
    await rollProductionBack();
    // With the version bad, staging's last good is the version it ran before this one.
    const lock = await forceStaging(decision, 'normal');
    try {
      const page = await runStep(status, 'retrospective page ROLLBACK-<n>', async () => {
        const ref = await documents.publishRetrospective({
          key: `${keyPrefix}/rollback/wiki`,
          page: { kind: IncidentKinds.rollback },
          retrospective: retrospective(IncidentKinds.rollback, decision, trouble),
        });
        return { value: { id: ref.id, url: ref.url }, detail: ref.id };
      });
      status.retrospective = page;
      return page;
    } finally {
      await lock.release();
    }
  }

  /** A healthy hotfix: staging back to normal mode, then the pull request back, ticket, wiki, incident closed. */
  async function closeHotfixIncident(): Promise<ProductionOutcome['closedIncident']> {
    const hotfix = await quick.hotfixOfVersion({ repository, version });
    if (!hotfix) return undefined;
    await runStep(status, 'staging lock normal', async () => {
      await getExternalWorkflowHandle(lockWorkflowId(STAGING)).signal(setModeSignal, {
        mode: 'normal',
        by: workflowId,
        reason: `${hotfix.id}: hotfix ${version} healthy in production`,
      });
      timeline.push({ at: now(), what: 'staging lock back to normal mode' });
      return { value: undefined, detail: 'waiting releases proceed in arrival order' };
    });
    const closed = await runStep(status, `close ${hotfix.id}`, async () => {
      const result = await documents.closeIncident({
        repository,
        id: hotfix.id,
        version,
        commit: input.commit,
        healthyAt: iso(now()),
        workflowId,
      });
      return {
        value: result,
        detail: result.pullRequest ? `pull request #${result.pullRequest.number}` : result.pullRequestNote,
      };
    });
    status.hotfix = {
      id: hotfix.id,
      branch: hotfix.branch,
      state: 'continued',
      ticketUrl: hotfix.ticketUrl,
      wikiUrl: hotfix.wikiUrl,
    };
    return { id: hotfix.id, pullRequest: closed.pullRequest };
  }

  async function declareEmergency(decision: DecisionRecord, trouble: HealthVerdict): Promise<HotfixStatus> {
    const incidents = patched(HOTFIX_INCIDENTS_PATCH);
    const continuing = incidents ? await quick.hotfixOfVersion({ repository, version }) : null;
    await runStep(status, 'escalate to operations', async () => {
      await page('emergency', settings.operationsTeam, `${keyPrefix}/emergency`, trouble, {
        decision: {
          by: decision.by,
          at: decision.at,
          ...(decision.reason ? { reason: decision.reason } : {}),
        },
      });
      return { value: undefined, detail: `paged ${settings.operationsTeam}` };
    });
    const lock = await forceStaging(decision, 'hotfix');
    if (continuing) {
      // An emergency on a hotfix continues its incident: same ticket, page and branch.
      try {
        await runStep(status, 'staging lock hotfix-only', async () => {
          await getExternalWorkflowHandle(lockWorkflowId(STAGING)).signal(setModeSignal, {
            mode: 'hotfixOnly',
            by: decision.by,
            reason: `${continuing.id}: emergency in hotfix ${repository} ${version}`,
          });
          return { value: undefined, detail: `only ${continuing.id} may take staging` };
        });
        const hotfix: HotfixStatus = {
          id: continuing.id,
          branch: continuing.branch,
          state: 'continued',
          ticketUrl: continuing.ticketUrl,
          wikiUrl: continuing.wikiUrl,
        };
        status.hotfix = hotfix;
        return hotfix;
      } finally {
        await lock.release();
      }
    }
    try {
      const incident = {
        name: decision.decision,
        by: decision.by,
        at: Date.parse(decision.at),
        ...(decision.reason ? { reason: decision.reason } : {}),
      };
      const ticket = await runStep(status, 'ticket HOT-<n>', async () => {
        const ref = await documents.openIncidentTicket({
          key: `${keyPrefix}/emergency/ticket`,
          kind: IncidentKinds.hotfix,
          repository,
          version,
          previousVersion,
          trigger: trouble.reason,
          decision: incident,
          workflowId,
        });
        return { value: ref, detail: ref.id };
      });
      const wiki = await runStep(status, `wiki page ${ticket.id}`, async () => {
        const ref = await documents.publishRetrospective({
          key: `${keyPrefix}/emergency/wiki`,
          page: { id: ticket.id },
          retrospective: retrospective(IncidentKinds.hotfix, decision, trouble, [
            { title: `ticket ${ticket.id}`, url: ticket.url },
          ]),
        });
        return { value: ref, detail: ref.id };
      });
      status.retrospective = { id: wiki.id, url: wiki.url };
      await runStep(status, `branch ${ticket.id}`, async () => {
        const made = await quick.createHotfixBranch({ repository, branch: ticket.id, tag: version });
        return { value: made, detail: `${ticket.id} at ${made.commit.slice(0, 12)} (${version})` };
      });
      await runStep(status, 'staging lock hotfix-only', async () => {
        await getExternalWorkflowHandle(lockWorkflowId(STAGING)).signal(setModeSignal, {
          mode: 'hotfixOnly',
          by: decision.by,
          reason: `${ticket.id}: emergency in ${repository} ${version}`,
        });
        return { value: undefined, detail: `only ${ticket.id} may take staging` };
      });
      if (incidents) {
        await runStep(status, `record incident ${ticket.id}`, async () => {
          const ref = await quick.recordIncident({
            id: ticket.id,
            repository,
            brokenVersion: version,
            decision: {
              name: decision.decision,
              by: decision.by,
              at: decision.at,
              ...(decision.reason ? { reason: decision.reason } : {}),
            },
            ticketUrl: ticket.url,
            wikiUrl: wiki.url,
          });
          return { value: ref, detail: `${ref.id} ${ref.state}: push fixes to branch ${ref.branch}` };
        });
      }
      const hotfix: HotfixStatus = {
        id: ticket.id,
        branch: ticket.id,
        state: 'pending',
        ticketUrl: ticket.url,
        wikiUrl: wiki.url,
      };
      status.hotfix = hotfix;
      return hotfix;
    } finally {
      await lock.release();
    }
  }

  function retrospective(
    kind: (typeof IncidentKinds)[keyof typeof IncidentKinds],
    decision: DecisionRecord,
    trouble: HealthVerdict,
    links: { title: string; url: string }[] = [],
  ) {
    return {
      kind,
      repository,
      version,
      previousVersion,
      trigger: `${trouble.verdict}: ${trouble.reason}`,
      decision: {
        name: decision.decision,
        by: decision.by,
        at: Date.parse(decision.at),
        ...(decision.reason ? { reason: decision.reason } : {}),
      },
      events: [...timeline],
      links,
    };
  }
}
