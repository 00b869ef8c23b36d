/**
 * Stage 2: a release tag (docs/pipelines-and-decisions.md "The pipelines"). Tag the existing artifact with the version, take
 * the shared staging lock, deploy staging (fenced by the lock's token), run integration tests
 * against staging. On failure: alert, staging back to its last good version, lock released,
 * halt (PipelineFailed). On success: staging marked good, lock released, and production started
 * (`production:<repo>:<version>`), or, when the repository requires it, after a `promote`
 * signal. A run whose lock is taken away (emergency, rollback) stops its work and ends
 * "preempted" naming who took it; it touches the lock no more. The tagged commit's status
 * `release-flow/staging` follows the run (best effort).
 */
import {
  ActivityCancellationType,
  ApplicationFailure,
  condition,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type { PipelineActivities } from '../../activities/pipeline';
import { FailureTypes } from '../../domain/failures';
import { ReleaseCommit, ReleaseRepository, ReleaseStage, ReleaseVersion } from '../shared/search-attributes';
import { StatusContexts } from '../../domain/commit-status';
import { acquire, type HeldLock } from '../lock/acquire';
import type { LockRevocation } from '../lock/messages';
import { quickCalls } from '../shared/activity-options';
import { commitStatusReporter, type CommitStatusReporter } from '../shared/commit-statuses';
import { PipelineStates, PipelineWorkflowTypes, pipelineWorkflowId } from '../shared/messages';
import { failPipeline, markPreempted } from '../shared/outcomes';
import { commentOnIncident } from '../shared/incident-comments';
import { runStep } from '../shared/steps';
import {
  promoteSignal,
  tagStatusQuery,
  type PromoteRequest,
  type TagReleaseInput,
  type TagReleaseOutcome,
  type TagStatus,
} from './messages';

export type { TagReleaseInput, TagReleaseOutcome };

const tests = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  // A revoked holder's tests must really stop before the forcer rolls staging back.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [FailureTypes.testsFailed] },
});

const quick = proxyActivities<PipelineActivities>({
  ...quickCalls,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

// Deploys heartbeat, so a revoked holder's deploy command is aborted within seconds (a
// `helm upgrade` must not finish after the lock moved); the fence refuses its write anyway.
const deploys = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '20 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: quickCalls.retry,
});

/**
 * The patch that makes a preempted run a failure (`Preempted`, alerted, naming who took staging
 * and why) instead of a quiet "preempted" end. Runs recorded before it end as they did.
 */
export const PREEMPTED_FAILURE_PATCH = 'preempted-failure';
/** A hotfix version (of an open incident) asks staging with hotfix priority. */
export const HOTFIX_PRIORITY_PATCH = 'hotfix-priority';

/** What a preempted pipeline says: its release, who took staging, for which release, and why. */
export function preemptionMessage(
  repository: string,
  version: string,
  step: string,
  r: LockRevocation | undefined,
): string {
  const f = r?.force;
  if (!f) {
    return `${repository} ${version} preempted at ${step}: staging was taken away by ${r?.by ?? 'unknown'} (${r?.detail ?? 'no detail'})`;
  }
  const taker = f.repository ? `${f.repository}${f.version ? ` ${f.version}` : ''}` : 'another release';
  return `${repository} ${version} preempted at ${step}: staging was taken by ${taker} for ${f.decision ?? 'a forced acquisition'} decided by ${f.by}: ${f.reason}`;
}

export async function tagReleaseWorkflow(input: TagReleaseInput): Promise<TagReleaseOutcome> {
  // `release-flow/staging` on the tagged commit: pending, then passed, failed or preempted.
  const statuses = commitStatusReporter({
    repository: input.repository,
    commit: input.commit,
    context: StatusContexts.staging,
  });
  try {
    return await tagRelease(input, statuses);
  } finally {
    await statuses.settled();
  }
}

async function tagRelease(
  input: TagReleaseInput,
  statuses: CommitStatusReporter,
): Promise<TagReleaseOutcome> {
  const { repository, tag } = input;
  const status: TagStatus = {
    stage: 'tag',
    repository,
    commit: input.commit,
    version: tag,
    state: PipelineStates.running,
    step: 'starting',
    steps: [],
    environments: {},
  };
  let promotion: PromoteRequest | undefined;
  setHandler(tagStatusQuery, () => status, {
    description:
      'Stage, current step, every step with its times and result, versions per environment, failure.',
  });
  setHandler(
    promoteSignal,
    (request) => {
      if (!status.awaitingPromotion || promotion) return;
      promotion = request;
    },
    {
      description: 'Hand this version to production: {by, reason?}. Only counts while promotion is awaited.',
    },
  );
  const by = workflowInfo().workflowId;

  const settings = await quick.repositorySettings.executeWithOptions(
    { summary: `the settings of ${repository}` },
    [{ repository }],
  );
  if (!new RegExp(settings.releaseTagPattern).test(tag)) {
    // The doors ignore such tags; a start by hand gets the same rule (docs/pipelines-and-decisions.md "Release rules").
    status.state = PipelineStates.failed;
    throw ApplicationFailure.nonRetryable(
      `${tag} does not match the release tag pattern ${settings.releaseTagPattern} of ${repository}`,
      FailureTypes.notAReleaseTag,
    );
  }
  statuses.post('pending', `${tag}: staging lock, deploy and integration tests in staging`);
  let digest: string | undefined;
  try {
    digest = await runStep(status, 'tag artifact', async () => {
      const result = await quick.tagArtifact.executeWithOptions(
        { summary: `tag the artifact of ${input.commit.slice(0, 12)} ${tag} in dev` },
        [{ repository, commit: input.commit, version: tag }],
      );
      return {
        value: result.digest,
        detail: result.created ? `dev:${tag} tagged` : `dev:${tag} already tagged`,
      };
    });
  } catch (err) {
    return await halt(status, statuses, err);
  }

  // Only pipelines of an open incident are hotfixes: the incident record says which versions are.
  const hotfix = patched(HOTFIX_PRIORITY_PATCH)
    ? await quick.hotfixOfVersion.executeWithOptions({ summary: `is ${tag} a hotfix of an open incident` }, [
        { repository, version: tag },
      ])
    : null;
  const lock = await runStep(status, 'staging lock', async () => {
    const held = await acquire('staging', {
      purpose: hotfix ? `hotfix ${hotfix.id}: ${repository} ${tag}` : `${repository} ${tag}`,
      ...(hotfix ? { priority: 'hotfix' as const } : {}),
      lease: '10 minutes',
      subject: { repository, version: tag },
      onHotfixOnly: (mode) => {
        const incident = /\b(HOT-\d+)\b/.exec(mode.reason)?.[1];
        statuses.post(
          'pending',
          `${tag} waiting for staging: hotfix-only${incident ? ` for ${incident}` : ''} (by ${mode.by}); proceeds when normal mode returns`,
        );
      },
    });
    return {
      value: held,
      detail: `token ${held.token}${hotfix ? `, hotfix priority for ${hotfix.id}` : ''}`,
    };
  });

  try {
    await lock.run(() => stage(input, status, by, lock, digest));
  } catch (err) {
    const preempted = markPreempted({ status, statuses, label: tag, taken: 'staging' }, err);
    if (preempted) {
      const { revocation } = preempted;
      await lock.release(); // sends nothing after a revocation; clears the helper's renewals
      if (!patched(PREEMPTED_FAILURE_PATCH)) {
        return { state: 'preempted', version: tag, preemptedBy: status.preemptedBy };
      }
      // The forcer puts this run's staging back to its last good version (it holds the token now).
      const message = preemptionMessage(repository, tag, status.step, revocation);
      status.failure = { step: status.step, type: FailureTypes.preempted, message };
      const f = revocation?.force;
      await quick.notifyPipelineFailure.executeWithOptions(
        { summary: `alert the development team: tag ${tag} preempted at ${status.step}` },
        [
          {
            repository,
            stage: 'tag',
            step: status.step,
            commit: input.commit,
            version: tag,
            message,
            preempted: {
              decision: f?.decision ?? revocation?.reason ?? 'revoked',
              by: f?.by ?? revocation?.by ?? 'unknown',
              ...(f?.repository ? { repository: f.repository } : {}),
              ...(f?.version ? { version: f.version } : {}),
              reason: f?.reason ?? revocation?.detail ?? '',
            },
          },
        ],
      );
      throw ApplicationFailure.nonRetryable(message, FailureTypes.preempted, revocation);
    }
    await rollbackStaging(input, status, by, lock);
    await lock.release();
    return await halt(status, statuses, err);
  }
  await lock.release();
  if (hotfix) {
    await commentOnIncident({
      repository,
      id: hotfix.id,
      step: `staged/${tag}`,
      markdown: `Hotfix **${tag}** deployed to staging and passed its integration tests; ${settings.requirePromote ? 'waiting for promote' : 'handed to production'}.`,
    });
  }
  statuses.post(
    'success',
    `${tag} passed staging; ${settings.requirePromote ? 'waiting for promote' : 'handed to production'}`,
  );

  if (settings.requirePromote) {
    status.awaitingPromotion = true;
    status.step = 'waiting for promote';
    await condition(() => promotion !== undefined);
    status.awaitingPromotion = false;
  }
  const productionWorkflowId = await runStep(status, 'hand off to production', async () => {
    const id = pipelineWorkflowId('production', repository, tag);
    await startChild(PipelineWorkflowTypes.production, {
      workflowId: id,
      args: [{ repository, version: tag, commit: input.commit, ...settings.production }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      ...(settings.searchAttributes
        ? {
            typedSearchAttributes: [
              { key: ReleaseRepository, value: repository },
              { key: ReleaseStage, value: 'production' },
              { key: ReleaseCommit, value: input.commit },
              { key: ReleaseVersion, value: tag },
            ],
          }
        : {}),
    });
    return { value: id, detail: promotion ? `promoted by ${promotion.by}` : 'automatic hand-off' };
  });
  status.state = PipelineStates.succeeded;
  return {
    state: 'promoted',
    version: tag,
    productionWorkflowId,
    ...(promotion ? { promotedBy: promotion.by } : {}),
  };
}

async function stage(
  input: TagReleaseInput,
  status: TagStatus,
  by: string,
  lock: HeldLock,
  digest: string | undefined,
): Promise<void> {
  const { repository, tag } = input;
  await runStep(status, 'deploy staging', async () => {
    const result = await deploys.deployVersion.executeWithOptions({ summary: `deploy ${tag} to staging` }, [
      {
        repository,
        env: 'staging',
        version: tag,
        artifact: { repository: 'dev', tag },
        // The artifact tagged above, also when the tag moved since (ArtifactChanged).
        ...(digest ? { digest } : {}),
        by,
        fencingToken: lock.token,
      },
    ]);
    status.environments.staging = tag;
    return { value: result, detail: result.note };
  });
  await runStep(status, 'integration tests (staging)', async () => {
    const result = await tests.runTests.executeWithOptions(
      { summary: `integration tests of ${tag} in staging` },
      [{ repository, commit: input.commit, purpose: 'integration-tests', env: 'staging', version: tag }],
    );
    return { value: result, detail: 'passed' };
  });
  await runStep(status, 'mark staging good', async () => {
    const result = await quick.markGood.executeWithOptions({ summary: `mark ${tag} good in staging` }, [
      { repository, env: 'staging', version: tag, by, fencingToken: lock.token },
    ]);
    return { value: result, detail: result.note };
  });
}

/** Staging back to its last good version, under the lock this run still holds. */
async function rollbackStaging(
  input: TagReleaseInput,
  status: TagStatus,
  by: string,
  lock: HeldLock,
): Promise<void> {
  if (status.environments.staging === undefined) return; // nothing was deployed
  const failedStep = status.step;
  try {
    await runStep(status, 'roll back staging', async () => {
      const result = await quick.rollbackEnvironment.executeWithOptions(
        { summary: `roll staging back from ${input.tag} to its last good version` },
        [
          {
            repository: input.repository,
            env: 'staging',
            to: 'last-good',
            fromVersion: input.tag,
            by,
            fencingToken: lock.token,
          },
        ],
      );
      status.environments.staging = result.state.current?.version;
      return { value: result, detail: result.note };
    });
  } catch {
    // The alert still goes out for the original failure; the failed rollback is in the status.
  }
  status.step = failedStep;
}

/** Alert and halt: the tag pipeline's failure, after staging was put back. */
async function halt(status: TagStatus, statuses: CommitStatusReporter, err: unknown): Promise<never> {
  return await failPipeline(
    {
      status,
      statuses,
      ...(status.version ? { label: status.version } : {}),
      title: `tag pipeline of ${status.version}`,
      subject: {
        ...(status.commit ? { commit: status.commit } : {}),
        ...(status.version ? { version: status.version } : {}),
      },
      alerts: quick,
    },
    err,
  );
}
