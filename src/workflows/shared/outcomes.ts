/**
 * How a pipeline ends when it does not succeed, written once for every pipeline (main-commit,
 * tag, production, hotfix): a failed step alerts the development team and halts with
 * `PipelineFailed`; a run whose lock was taken away ends `preempted`, naming who took it.
 */
import { ApplicationFailure, type ActivityInterfaceFor } from '@temporalio/workflow';
import type { PipelineActivities } from '../../activities/pipeline';
import { FailureTypes } from '../../domain/failures';
import { isLockRevoked } from '../lock/acquire';
import type { LockRevocation } from '../lock/messages';
import { firstLine, type CommitStatusReporter } from './commit-statuses';
import { PipelineStates, type PipelineStatus } from './messages';
import { describeFailure } from './steps';

export interface FailingRun {
  status: PipelineStatus;
  statuses: CommitStatusReporter;
  /** How the commit status names the run before "failed at" (`v1.3.0`, `HOT-3`); none for main. */
  label?: string;
  /** How the failure names the run: `tag pipeline of v1.3.0`. */
  title: string;
  /** What the alert names besides the repository, stage and step. */
  subject: { commit?: string; version?: string };
  /** The stage's own proxy (its options say how a cancelled alert ends). */
  alerts: Pick<ActivityInterfaceFor<PipelineActivities>, 'notifyPipelineFailure'>;
}

/**
 * Alert and halt: the status shows the failed step and why, the commit status turns red, the
 * development team is alerted, and the run fails with `PipelineFailed` naming the step.
 */
export async function failPipeline(run: FailingRun, err: unknown): Promise<never> {
  const { status } = run;
  status.state = PipelineStates.failed;
  const failure = describeFailure(err);
  status.failure = { step: status.step, ...failure };
  run.statuses.post(
    'failure',
    `${run.label ? `${run.label} ` : ''}failed at ${status.step}: ${firstLine(failure.message)}`,
  );
  await run.alerts.notifyPipelineFailure.executeWithOptions(
    { summary: `alert the development team: ${status.stage} failed at ${status.step}` },
    [
      {
        repository: status.repository,
        stage: status.stage,
        step: status.step,
        ...run.subject,
        message: failure.message,
        ...(failure.log ? { log: failure.log } : {}),
      },
    ],
  );
  throw ApplicationFailure.nonRetryable(
    `${run.title} failed at ${status.step}: ${failure.message}`,
    FailureTypes.pipelineFailed,
  );
}

export interface PreemptedRun {
  status: PipelineStatus;
  statuses: CommitStatusReporter;
  /** How the commit status names the run before "stopped at" (`v1.3.0`); none for main. */
  label?: string;
  /** What was taken away, as the commit status says it: `the repository lock`, `staging`. */
  taken: string;
}

/**
 * A run whose lock was taken away (a `LockRevoked` failure): its status turns `preempted`
 * naming who took the lock, its commit status says so, and the revocation is returned for the
 * stage to end with. Any other failure: undefined, and nothing is changed.
 */
export function markPreempted(
  run: PreemptedRun,
  err: unknown,
): { revocation: LockRevocation | undefined } | undefined {
  const preempted = preemptedBy(err);
  if (!preempted) return undefined;
  const { status } = run;
  status.state = PipelineStates.preempted;
  status.preemptedBy = preempted.revocation?.by ?? 'unknown';
  run.statuses.post(
    'error',
    `${run.label ? `${run.label} ` : ''}stopped at ${status.step}: ${run.taken} was taken by ${status.preemptedBy}`,
  );
  return preempted;
}

/** The revocation a `LockRevoked` failure carries, or undefined for any other failure. */
export function preemptedBy(err: unknown): { revocation: LockRevocation | undefined } | undefined {
  if (!isLockRevoked(err)) return undefined;
  return { revocation: (err as ApplicationFailure).details?.[0] as LockRevocation | undefined };
}
