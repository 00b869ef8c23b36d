import type { Client } from '@temporalio/client';
import { runReadinessProbe } from '../starter';
import { sendJson, type Route } from './server';

export interface ReadinessProbe {
  /** Resolves with the worker that answered; rejects when the round trip fails or times out. */
  check(): Promise<{ answeredBy: string; ms: number }>;
}

/**
 * One readiness round trip at a time: concurrent probes share the one in flight, so a burst of
 * `GET /readyz` starts one workflow, not one per request.
 */
export function createReadinessProbe(client: Client, taskQueue: string, timeoutMs = 10_000): ReadinessProbe {
  let inFlight: Promise<{ answeredBy: string; ms: number }> | undefined;
  const roundTrip = async () => {
    const started = Date.now();
    const { answeredBy } = await runReadinessProbe(client, taskQueue, timeoutMs);
    return { answeredBy, ms: Date.now() - started };
  };
  return {
    check() {
      inFlight ??= roundTrip().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
  };
}

/**
 * `currentProbe` is undefined until connected; /readyz answers 503 until then, with
 * `notReadyReason` (why: Temporal unreachable, still connecting) when given.
 */
export function healthRoutes(
  currentProbe: () => ReadinessProbe | undefined,
  notReadyReason: () => string = () => 'worker not running yet',
): Route[] {
  return [
    { method: 'GET', path: '/healthz', handler: (_req, res) => sendJson(res, 200, { status: 'up' }) },
    {
      method: 'GET',
      path: '/readyz',
      handler: async (_req, res) => {
        const probe = currentProbe();
        if (!probe) return sendJson(res, 503, { status: 'starting', reason: notReadyReason() });
        try {
          const { answeredBy, ms } = await probe.check();
          sendJson(res, 200, { status: 'ready', answeredBy, roundTripMs: ms });
        } catch (err) {
          sendJson(res, 503, {
            status: 'not ready',
            reason: err instanceof Error ? err.message : String(err),
          });
        }
      },
    },
  ];
}
