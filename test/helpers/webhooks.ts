/**
 * Webhook test kit: signed GitHub-shaped deliveries, the example payloads of
 * @octokit/webhooks-examples, a fake starter that counts starts, and a logger that keeps lines.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/common/logging';
import type { StartResult } from '../../src/starter';
import type { PipelineStarter } from '../../src/http/webhooks/bounded-starts';
import { TemporalUnavailable } from '../../src/starter';
import type { StartRequest } from '../../src/http/webhooks/route-event';
import { signBody } from '../../src/http/webhooks/signature';

export const SECRET = 'test-webhook-secret-9f2c';

export interface Delivery {
  event: string;
  body: string;
  delivery?: string;
  /** Header overrides; `null` removes a header. */
  headers?: Record<string, string | null>;
  /** Sign with this secret (default SECRET); false: no signature header. */
  secret?: string | false;
}

export async function deliver(
  url: string,
  d: Delivery,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': d.event,
    'x-github-delivery': d.delivery ?? randomUUID(),
    'user-agent': 'GitHub-Hookshot/test',
  };
  if (d.secret !== false && d.body.length > 0) {
    headers['x-hub-signature-256'] = await signBody(d.secret ?? SECRET, d.body);
  }
  for (const [k, v] of Object.entries(d.headers ?? {})) {
    if (v === null) delete headers[k];
    else headers[k] = v;
  }
  const res = await fetch(`${url}/webhooks/github`, { method: 'POST', headers, body: d.body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

interface ExampleGroup {
  name: string;
  examples: Record<string, unknown>[];
}

/** Every example payload of the given events (api.github.com set). */
export function examplePayloads(
  events: string[],
): { event: string; index: number; payload: Record<string, unknown> }[] {
  const groups = require('@octokit/webhooks-examples') as ExampleGroup[];
  return groups
    .filter((g) => events.includes(g.name))
    .flatMap((g) => g.examples.map((payload, index) => ({ event: g.name, index, payload })));
}

/** Counts starts per workflow id like Temporal would: the first starts, the rest are "already". */
export function fakeStarter(): PipelineStarter & {
  starts: StartRequest[];
  down: boolean;
  calls: number;
} {
  const seen = new Set<string>();
  const fake = {
    starts: [] as StartRequest[],
    down: false,
    calls: 0,
    async start(request: StartRequest): Promise<StartResult> {
      fake.calls++;
      if (fake.down) throw new TemporalUnavailable('fake Temporal is down');
      if (seen.has(request.workflowId)) return { workflowId: request.workflowId, started: false };
      seen.add(request.workflowId);
      fake.starts.push(request);
      return { workflowId: request.workflowId, started: true };
    },
  };
  return fake;
}

export function capturingLogger(): {
  logger: Logger;
  lines: () => Record<string, unknown>[];
  text: () => string;
} {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return {
    logger: createLogger('debug', sink),
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export function sha(n: number): string {
  return n.toString(16).padStart(40, '0').replace(/^0/, 'a');
}
