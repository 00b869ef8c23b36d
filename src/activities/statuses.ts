/**
 * Commit statuses of the pipelines (docs/pipelines-and-decisions.md "The pipelines"): `release-flow/main`, `/staging` and
 * `/production` on the commit each stage works on, "Details" leading to the calling workflow run in
 * the Temporal UI. A status informs people; it is never a reason to fail or stall a release. So the
 * activity retries a few times itself, logs what it could not post, and answers
 * `posted: false` instead of failing.
 */
import { Context, log } from '@temporalio/activity';
import type { RepositoryConfig } from '../config/schema';
import { maskSecrets } from '../common/secrets';
import { isUserError } from '../common/errors';
import type { CommitState, CommitStatuses, StatusContext } from '../ports/commit-statuses';
import { isDefinitiveFailure } from '../domain/failures';
import { workflowUrl } from '../common/ui-links';

export interface StatusPorts {
  repository: (name: string) => RepositoryConfig | undefined;
  /** GitHub's commit statuses for a repository GitHub serves, the local journal otherwise. */
  statuses: (repository: RepositoryConfig) => Promise<CommitStatuses>;
  /** Root of the Temporal UI, for the status's "Details" link. */
  uiUrl?: string;
}

export interface CommitStatusRequest {
  repository: string;
  /** Full hash of the commit the status is about. */
  commit: string;
  context: StatusContext;
  state: CommitState;
  /** One line; cut to GitHub's 140 characters by the adapter. */
  description: string;
}

export interface CommitStatusReceipt {
  posted: boolean;
  /** Why it was not posted (secrets masked), for the history and the log. */
  error?: string;
}

export interface StatusActivityOptions {
  /** Waits between attempts inside one activity; its length + 1 is the number of attempts. */
  backoffMs?: readonly number[];
  /** How long one attempt may take, rate-limit waits included, before it is aborted. */
  attemptTimeoutMs?: number;
}

const DEFAULT_BACKOFF_MS = [1_000, 3_000];
// Three attempts of 15 s and the waits between them end well inside the workflow's one-minute
// start-to-close: no attempt outlives the activity, so none can land after a newer status.
const DEFAULT_ATTEMPT_TIMEOUT_MS = 15_000;
const MAX_ERROR_LENGTH = 500;

function messageOf(err: unknown): string {
  const text = isUserError(err) ? err.render() : err instanceof Error ? err.message : String(err);
  return maskSecrets(text).slice(0, MAX_ERROR_LENGTH);
}

/**
 * `work`, or the signal's reason as soon as it aborts: a client waiting out a rate limit before
 * its retry does not hold the attempt (the retry itself is aborted by the same signal).
 */
function whileNotAborted<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  work.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) return stop();
    signal.addEventListener('abort', stop, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
  });
}

export function createStatusActivities(ports: StatusPorts, options: StatusActivityOptions = {}) {
  const backoff = options.backoffMs ?? DEFAULT_BACKOFF_MS;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
  return {
    /**
     * Posts one commit status; answers `posted: false` with the reason rather than failing, after
     * retrying transient errors (a missing permission or token is not retried).
     */
    async postCommitStatus(input: CommitStatusRequest): Promise<CommitStatusReceipt> {
      const ctx = Context.current();
      const run = ctx.info.workflowExecution;
      // The run, not only the id: a status belongs to the attempt that set it.
      const targetUrl =
        ports.uiUrl && run
          ? workflowUrl({
              uiUrl: ports.uiUrl,
              namespace: ctx.info.workflowNamespace ?? 'default',
              workflowId: run.workflowId,
              runId: run.runId,
            })
          : undefined;
      const repo = ports.repository(input.repository);
      let error = `repository ${input.repository} is not configured`;
      if (repo) {
        for (let attempt = 0; ; attempt++) {
          try {
            const statuses = await ports.statuses(repo);
            const signal = AbortSignal.any([ctx.cancellationSignal, AbortSignal.timeout(attemptTimeoutMs)]);
            await whileNotAborted(
              signal,
              statuses.post(
                {
                  sha: input.commit,
                  context: input.context,
                  state: input.state,
                  description: input.description,
                  ...(targetUrl ? { targetUrl } : {}),
                },
                { signal },
              ),
            );
            return { posted: true };
          } catch (err) {
            error = messageOf(err);
            const final = isUserError(err) || isDefinitiveFailure(err);
            if (final || attempt >= backoff.length) break;
            // Context.sleep ends early with a CancelledFailure when the workflow no longer wants it.
            await ctx.sleep(backoff[attempt]!);
          }
        }
      }
      log.warn('commit status not posted', {
        repository: input.repository,
        commit: input.commit,
        context: input.context,
        state: input.state,
        error,
      });
      return { posted: false, error };
    },
  };
}
