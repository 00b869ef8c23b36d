/**
 * The commit statuses a pipeline run posts on its commit (docs/pipelines-and-decisions.md "The pipelines"): queued and
 * posted one at a time, best effort, so a status never holds a release up.
 */
import {
  ActivityCancellationType,
  CancellationScope,
  log,
  patched,
  proxyActivities,
} from '@temporalio/workflow';
import type { PipelineActivities } from '../../activities/pipeline';
import type { CommitState, StatusContext } from '../../domain/commit-status';
import { describeFailure } from './steps';

/**
 * The patch that gave the pipelines their commit statuses (docs/pipelines-and-decisions.md "The pipelines"). Runs recorded
 * before it have no marker and post none, so their histories replay unchanged.
 */
export const COMMIT_STATUSES_PATCH = 'commit-statuses';

// A status is worth a short wait, never a stuck release: the activity retries inside itself and
// answers instead of failing, so these retries only cover a lost worker, within three minutes.
const statusActivities = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '3 minutes',
  retry: { maximumAttempts: 3, initialInterval: '5 seconds' },
  // A post in flight when the run is cancelled finishes before the next one starts, so the
  // statuses still land in the order given.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

export interface CommitStatusReporter {
  /** Queues a status; they are posted one at a time, in the order given, so the last one wins. */
  post(state: CommitState, description: string): void;
  /** Resolves when every queued status has been posted or given up; never rejects. */
  settled(): Promise<void>;
}

/**
 * The commit statuses of one pipeline run, on `commit` under `context`. Create it before the
 * run's first await: whether the run posts statuses is decided once, at its start, so a run
 * begun before the patch never shows a lone "success" without its "pending".
 */
export function commitStatusReporter(target: {
  repository: string;
  commit: string;
  context: StatusContext;
}): CommitStatusReporter {
  const enabled = patched(COMMIT_STATUSES_PATCH);
  let queue: Promise<void> = Promise.resolve();
  let last: CommitState | undefined;
  const post = (state: CommitState, description: string) => {
    if (!enabled) return;
    last = state;
    queue = queue.then(async () => {
      try {
        await statusActivities.postCommitStatus.executeWithOptions(
          { summary: `${target.context}: ${state}` },
          [{ ...target, state, description }],
        );
      } catch (err) {
        // Cancelled with the run, or the worker was lost three times: the release goes on.
        log.warn('commit status not posted', {
          context: target.context,
          state,
          error: describeFailure(err).message,
        });
      }
    });
  };
  if (enabled) {
    // A cancelled run must not leave "pending" behind (an outcome already posted stays). Posted
    // outside the cancelled scope; what the run queues after this is cancelled with it, so this
    // stays the last status.
    CancellationScope.current().cancelRequested.catch(() => {
      if (last !== 'pending') return;
      return CancellationScope.nonCancellable(async () => {
        post('error', 'cancelled: the run was asked to stop');
        await queue;
      });
    });
  }
  return { post, settled: () => queue };
}

/** The first line of a failure message, for a status description. */
export function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
