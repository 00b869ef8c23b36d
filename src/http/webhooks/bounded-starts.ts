/**
 * How the receiver starts pipelines: a small interface (tests inject a fake) and its Temporal
 * adapter over src/starter.ts. The adapter bounds each start so a delivery is answered well
 * inside GitHub's 10 s even when Temporal hangs, and says "unavailable" (TemporalUnavailable)
 * when the start should go to the outbox rather than fail.
 */
import { isGrpcServiceError, type Client } from '@temporalio/client';
import {
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

/** Temporal could not be reached (no connection, unavailable, or no answer in time). */
export class TemporalUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TemporalUnavailable';
  }
}

// gRPC status codes that mean "the server did not answer", not "the server said no". CANCELLED
// without our asking is the server dropping a call whose deadline its own context saw pass.
const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;
const CANCELLED = 1;
const CONNECTION_TEXT =
  /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENOTFOUND|No connection established|connection (refused|closed)/i;

// gRPC status codes of a server that answered but failed the call itself (its store failed under
// load, it aborted): worth another attempt later, never a reason to drop a delivery.
const SERVER_FAILURE_CODES = new Set([
  2 /* UNKNOWN */, 8 /* RESOURCE_EXHAUSTED */, 10 /* ABORTED */, 13 /* INTERNAL */,
]);

/** True when err, or any error in its cause chain, is Temporal failing the call on its side. */
export function isTemporalServerFailure(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e) && SERVER_FAILURE_CODES.has(e.code)) return true;
  }
  return false;
}

/** True when err, or any error in its cause chain, says Temporal was not reached. */
export function isTemporalUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof TemporalUnavailable) return true;
    if (isGrpcServiceError(e) && [UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED].includes(e.code)) return true;
    if (e instanceof Error && CONNECTION_TEXT.test(e.message)) return true;
  }
  return false;
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
