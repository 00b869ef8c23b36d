/**
 * The webhook benches' load: signed `push` deliveries prepared ahead of time (so the clock
 * measures the receiver, not the load generator), posted open-loop at a fixed rate on a
 * keep-alive agent, each answer timed.
 */
import http from 'node:http';
import { signBody } from '../src/http/webhooks/signature';

export const SECRET = 'bench-webhook-secret';

export interface Delivery {
  body: string;
  signature: string;
  /** The `x-github-delivery` id. */
  id: string;
}

/** A push of `after` to `bench/app`'s main, signed with SECRET. */
export async function signedPush(after: string, id: string): Promise<Delivery> {
  const body = JSON.stringify({
    ref: 'refs/heads/main',
    before: '0'.repeat(39) + '1',
    after,
    repository: { full_name: 'bench/app' },
  });
  return { body, signature: await signBody(SECRET, body), id };
}

/** POSTs one delivery to the receiver on loopback; resolves with the status code. */
export function post(agent: http.Agent, port: number, delivery: Delivery): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/webhooks/github',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(delivery.body),
          'x-github-event': 'push',
          'x-github-delivery': delivery.id,
          'x-hub-signature-256': delivery.signature,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(delivery.body);
  });
}

/**
 * Sends delivery `i` at `i / rate` seconds after the start whatever the earlier ones' answers
 * (open loop), and waits for every answer; `answered` gets each status, its latency and when it
 * was sent (ms after the first), `failed`
 * each request that got none. Returns the seconds from the first send to the last answer.
 */
export async function sendOpenLoop(
  agent: http.Agent,
  port: number,
  deliveries: Delivery[],
  rate: number,
  answered: (status: number, ms: number, sentAtMs: number) => void,
  failed: () => void,
): Promise<number> {
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  for (const [i, delivery] of deliveries.entries()) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const sentAt = performance.now();
    inflight.push(
      post(agent, port, delivery).then(
        (status) => answered(status, performance.now() - sentAt, sentAt - t0),
        failed,
      ),
    );
  }
  await Promise.all(inflight);
  return (performance.now() - t0) / 1000;
}
