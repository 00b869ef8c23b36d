/**
 * Stage 3, the production release: copy → deploy → watch → healthy, or decide → respond
 * (docs/pipelines-and-decisions.md "The pipelines" and "Decisions, forced take-over and rollback"). The decision desk's
 * rules are in `domain/decision-desk.ts`, its doors in `decision-handlers.ts`; the watch, the
 * escalation and each response have their own file beside this one.
 */
import { durationToMs } from '../../domain/duration-ms';
import {
  ApplicationFailure,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { StatusContexts, type CommitState } from '../../domain/commit-status';
import { openingDesk, explainWait, stopAwaiting } from '../../domain/decision-desk';
import { FailureTypes } from '../../domain/failures';
import { HealthVerdicts, type HealthVerdict } from '../../domain/health-verdict';
import { Decisions } from '../../domain/production-decisions';
import { resolveProductionSettings } from '../../domain/production-settings';
import { commitStatusReporter } from '../shared/commit-statuses';
import { PipelineStates, pipelineWorkflowId } from '../shared/messages';
import { commentOnIncident, INCIDENT_COMMENTS_PATCH } from '../shared/incident-comments';
import { failPipeline } from '../shared/outcomes';
import { runStep } from '../shared/steps';
import { setDecisionHandlers } from './decision-handlers';
import { declareEmergency } from './emergency';
import { awaitDecision } from './escalation';
import { failForward } from './fail-forward';
import { watchHealth } from './health-watch';
import { markHealthy } from './healthy';
import {
  productionStatusQuery,
  supersededSignal,
  type ProductionOutcome,
  type ProductionReleaseInput,
} from './messages';
import { now, quick, setDesk, type ReleaseRun } from './release-run';
import { rollBack } from './rollback';

export type { ProductionOutcome, ProductionReleaseInput };

/**
 * Takes a released version to production and watches it; on trouble, waits for a person's
 * decision and carries it out. Answers `status`; told `emergency`, `rollback`, `failForward`,
 * `decide` and `superseded`. Ends with a ProductionOutcome, or fails with PipelineFailed (the
 * development team is alerted) when a step fails.
 */
export async function productionReleaseWorkflow(input: ProductionReleaseInput): Promise<ProductionOutcome> {
  const { repository, version } = input;
  const info = workflowInfo();
  const run: ReleaseRun = {
    input,
    repository,
    version,
    workflowId: info.workflowId,
    keyPrefix: `${info.workflowId}/${info.firstExecutionRunId}`,
    // `release-flow/production` on the released commit: pending while deploying and watching;
    // success when healthy; failure (error when the APM could not judge) once in trouble, then
    // again naming the decision taken.
    statuses: commitStatusReporter({ repository, commit: input.commit, context: StatusContexts.production }),
    status: {
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
    },
    desk: openingDesk('the release is being deployed to production'),
    // Set below, after the handlers: an invalid input fails the run with its handlers in place.
    settings: undefined as unknown as ReleaseRun['settings'],
    previousVersion: null,
    timeline: [],
  };
  const { status, statuses, workflowId } = run;

  // Handlers first: the UI lists only what is registered when it asks, and early signals are kept.
  setHandler(productionStatusQuery, () => status, {
    description:
      'Stage, step, versions per environment, health samples and verdict, awaitingDecision, decisions taken and rejected, hotfix.',
  });
  setDecisionHandlers(run);
  setHandler(
    supersededSignal,
    (notice) => {
      run.superseded ??= notice;
    },
    {
      description:
        'From the next release of this repository once it runs in production: {version, workflowId}. Ends the health watch as superseded.',
    },
  );

  const resolved = resolveProductionSettings(input, durationToMs);
  if (resolved.problem !== undefined) {
    throw ApplicationFailure.nonRetryable(resolved.problem, FailureTypes.invalidInput);
  }
  run.settings = resolved.settings;

  statuses.post('pending', `deploying ${version} to production`);
  try {
    const copied = await runStep(status, 'copy artifact to production', async () => {
      const copied = await quick.promoteArtifact.executeWithOptions(
        { summary: `copy the artifact ${version} to the production repository` },
        [{ repository, version }],
      );
      return { value: copied, detail: `prod:${version} = ${copied.digest.slice(0, 19)}` };
    });
    await runStep(status, 'deploy production', async () => {
      const result = await quick.deployVersion.executeWithOptions(
        { summary: `deploy ${version} to production` },
        [
          {
            repository,
            env: 'production',
            version,
            artifact: { repository: 'prod', tag: version },
            digest: copied.digest,
            by: workflowId,
          },
        ],
      );
      // The deploy's own record knows what ran before, also when a retry found it already deployed.
      const before = result.state.previous?.version ?? null;
      run.previousVersion = before && before !== version ? before : null;
      status.environments.production = version;
      run.timeline.push({ at: now(), what: `deployed ${version} to production` });
      return { value: result, detail: result.note };
    });
    if (patched(INCIDENT_COMMENTS_PATCH)) {
      const hotfix = await quick.hotfixOfVersion.executeWithOptions(
        { summary: `is ${version} a hotfix of an open incident` },
        [{ repository, version }],
      );
      if (hotfix) {
        await commentOnIncident({
          repository,
          id: hotfix.id,
          step: `production/${version}`,
          markdown: `Hotfix **${version}** deployed to production; its health is watched like any release.`,
        });
      }
    }
    if (run.previousVersion) {
      // The release this one replaced stops watching: production traffic is ours now.
      await getExternalWorkflowHandle(pipelineWorkflowId('production', repository, run.previousVersion))
        .signal(supersededSignal, { version, workflowId })
        .catch(() => undefined);
    }

    const verdict = await runStep(status, 'watch production health', async () => {
      const v = await watchHealth(run);
      return {
        value: v,
        detail: run.superseded ? `superseded by ${run.superseded.version}` : `${v.verdict}: ${v.reason}`,
      };
    });
    const { previousVersion, superseded } = run;
    if (superseded) {
      setDesk(run, explainWait(run.desk, `${superseded.version} replaced this release in production`));
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
      setDesk(run, explainWait(run.desk, `production was healthy: ${verdict.reason}`));
      const closedIncident = await markHealthy(run);
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
    return await decideAndRespond(run, verdict);
  } catch (err) {
    if (isCancellation(err)) throw err;
    setDesk(run, stopAwaiting(run.desk));
    return await failPipeline(
      {
        status,
        statuses,
        label: version,
        title: `production pipeline of ${repository} ${version}`,
        subject: { version, commit: input.commit },
        alerts: quick,
      },
      err,
    );
  } finally {
    await statuses.settled();
  }
}

/** Breach, or an APM that could not judge: a person decides, and the decision is carried out. */
async function decideAndRespond(run: ReleaseRun, trouble: HealthVerdict): Promise<ProductionOutcome> {
  const { status, statuses, version } = run;
  run.timeline.push({ at: trouble.decidedAt ?? now(), what: `health ${trouble.verdict}: ${trouble.reason}` });
  // A breach failed the release; an APM that could not judge it is the check's own error.
  const troubleState: CommitState = trouble.verdict === HealthVerdicts.breach ? 'failure' : 'error';
  statuses.post(troubleState, `${version} ${trouble.verdict}: ${trouble.reason}; awaiting a decision`);
  const decision = await runStep(status, 'await decision', async () => {
    const d = await awaitDecision(run, trouble);
    return { value: d, detail: `${d.decision} by ${d.by}` };
  });
  statuses.post(
    troubleState,
    `${version} ${trouble.verdict}; ${decision.decision} decided by ${decision.by}`,
  );
  const base = {
    version,
    previousVersion: run.previousVersion,
    verdict: trouble.verdict,
    reason: trouble.reason,
    decision,
  };

  if (decision.decision === Decisions.failForward) {
    await failForward(run, decision);
    status.state = PipelineStates.failedForward;
    return { state: 'failed-forward', ...base };
  }
  if (decision.decision === Decisions.rollback) {
    const page = await rollBack(run, decision, trouble);
    status.state = PipelineStates.rolledBack;
    return { state: 'rolled-back', ...base, retrospective: page };
  }
  const hotfix = await declareEmergency(run, decision, trouble);
  status.state = PipelineStates.hotfixPending;
  return { state: 'hotfix-pending', ...base, hotfix, retrospective: { id: hotfix.id, url: hotfix.wikiUrl } };
}
