/**
 * Step bookkeeping shared by the pipeline workflows: each step is recorded in the status (times,
 * state, one-line result) so the `status` query and the UI show where a release is.
 */
import { ActivityFailure, ApplicationFailure, isCancellation } from '@temporalio/workflow';
import { StepStates, type PipelineStatus, type StepRecord } from './messages';

/** Runs `work` as the named step; the status shows it running, then done or failed. */
export async function runStep<T>(
  status: PipelineStatus,
  name: string,
  work: () => Promise<{ value: T; detail?: string }>,
): Promise<T> {
  const record: StepRecord = { name, state: StepStates.running, startedAt: new Date().toISOString() };
  status.steps.push(record);
  status.step = name;
  try {
    const { value, detail } = await work();
    record.state = StepStates.done;
    if (detail) record.detail = detail;
    return value;
  } catch (err) {
    record.state = StepStates.failed;
    record.detail = isCancellation(err) ? 'cancelled' : describeFailure(err).message.split('\n')[0];
    throw err;
  } finally {
    record.endedAt = new Date().toISOString();
  }
}

/** The business failure inside an activity failure: type, message, and the log when there is one. */
export function describeFailure(err: unknown): { type: string; message: string; log?: string } {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const details = (cause.details?.[0] ?? {}) as { log?: unknown; tail?: unknown };
    const tail = typeof details.tail === 'string' && details.tail ? `\n${details.tail}` : '';
    return {
      type: cause.type ?? 'Error',
      message: `${cause.message}${tail}`,
      ...(typeof details.log === 'string' ? { log: details.log } : {}),
    };
  }
  return { type: 'Error', message: cause instanceof Error ? cause.message : String(cause) };
}
