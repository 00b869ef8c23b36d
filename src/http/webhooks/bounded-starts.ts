/**
 * How the receiver starts pipelines: a small interface (tests inject a fake) and its Temporal
 * adapter over src/starter.ts. The adapter bounds each start so a delivery is answered well
 * inside GitHub's 10 s even when Temporal hangs, and says "unavailable" (TemporalUnavailable)
 * when the start should go to the outbox rather than fail.
 */
import type { Client } from '@temporalio/client';
import {
  TemporalUnavailable,
  isTemporalUnavailable,
  refuseReleased,
  startMainCommit,
  startPullRequestGate,
  startPullRequestRecheck,
  startHotfix,
  startTagRelease,
  type StartOptions,
  type StartResult,
} from '../../starter';
import type { StartRequest } from './route-event';

export interface PipelineStarter {
  /** Started, or already there (`started: false`); TemporalUnavailable when Temporal cannot be reached. */
  start(request: StartRequest): Promise<StartResult>;
  /** Resolves once no start is in flight: the receiver closes its connection only after this. */
  idle?(): Promise<void>;
  /** Starts sent and not yet settled (abandoned ones included). */
  inFlight?(): number;
}

export interface TemporalStarterOptions extends StartOptions {
  /**
   * How long one start may take (default 3 s): its gRPC deadline, inside which the SDK retries
   * an unreachable server, and the longest the caller waits before the start counts as
   * unavailable (TemporalUnavailable), so the answer stays inside GitHub's 10 s.
   */
  timeoutMs?: number;
}

/**
 * Starts through a Temporal client. `client` is a getter so the receiver can be mounted before
 * the app has connected: no client yet is "unavailable", and the event goes to the outbox.
 */
export function temporalStarter(
  client: () => Client | undefined,
  opts: TemporalStarterOptions,
): PipelineStarter {
  const timeoutMs = opts.timeoutMs ?? 3_000;
  const startOpts: StartOptions = {
    taskQueue: opts.taskQueue,
    searchAttributes: opts.searchAttributes,
    ...(opts.releases ? { releases: opts.releases } : {}),
  };
  const inFlight = new Set<Promise<unknown>>();
  return {
    async idle() {
      await Promise.allSettled([...inFlight]);
    },
    inFlight: () => inFlight.size,
    async start(request) {
      // Before the connection: a released version is refused (AlreadyReleased) even while Temporal is away.
      if (request.stage === 'tag') refuseReleased(opts.releases, request.input);
      const c = client();
      if (!c) throw new TemporalUnavailable('not connected to Temporal yet');
      const call = () => {
        switch (request.stage) {
          case 'main-commit':
            return startMainCommit(c, request.input, startOpts);
          case 'tag':
            return startTagRelease(c, request.input, startOpts);
          case 'pr-gate':
            return startPullRequestGate(c, request.input, startOpts);
          case 'pr-recheck':
            return startPullRequestRecheck(c, request.input, startOpts);
          case 'hotfix':
            return startHotfix(c, request.input, startOpts);
        }
      };
      // The deadline ends the call and the SDK's retries with it, but the SDK only sees it after
      // a pause between attempts (up to 5 s, plus jitter, when the server sheds load), so the
      // answer does not wait on it: at the deadline the start counts as unavailable and the
      // delivery is queued. The abandoned call settles on its own (idle() waits for it before
      // the receiver lets its connection close); if it did start the run, the outbox's start
      // finds it already there.
      let timer: NodeJS.Timeout | undefined;
      const answerBy = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new TemporalUnavailable(`Temporal did not answer the start within ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      const pending = c.connection.withDeadline(Date.now() + timeoutMs, call);
      inFlight.add(pending);
      void pending.then(
        () => inFlight.delete(pending),
        () => inFlight.delete(pending),
      );
      try {
        return await Promise.race([pending, answerBy]);
      } catch (err) {
        if (isTemporalUnavailable(err) && !(err instanceof TemporalUnavailable)) {
          throw new TemporalUnavailable(
            `Temporal unavailable: ${err instanceof Error ? err.message : String(err)}`,
            {
              cause: err,
            },
          );
        }
        throw err;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
