/**
 * Shared pieces of the lock's workflow, e2e and benchmark runs: a journal of enter/leave
 * written by the probe's activity, gates that hold a contender until the test opens them, and
 * queries of the lock.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { createLockActivities, type LockActivities } from '../../src/activities/lock';
import { createLocalFencedResource } from '../../src/adapters/local/fenced-resource';
import { lockWorkflowId, statusQuery, type LockStatus } from '../../src/workflows/lock/messages';

export interface JournalEntry {
  resource: string;
  holder: string;
  token: number;
  kind: 'enter' | 'leave' | 'cancelled';
  at: number;
}

/** holdMs below zero: hold until the test opens the holder's gate (or the hold is cancelled). */
export const HOLD_UNTIL_OPENED = -1;

export function lockHarness(client: Client, opts: { lockContinueAsNewAfterEvents?: number } = {}) {
  const journal: JournalEntry[] = [];
  const opened = new Set<string>();
  const fencedResource = createLocalFencedResource(mkdtempSync(path.join(os.tmpdir(), 'rf-fenced-')));
  const real = createLockActivities({ client, fencedResource, ...opts });
  const activities: LockActivities = {
    ...real,
    async holdLockedResource({ resource, token, holdMs, holder }) {
      await fencedResource.admit({ resource, token, action: 'enter', actor: holder });
      journal.push({ resource, holder, token, kind: 'enter', at: Date.now() });
      const ctx = Context.current();
      try {
        if (holdMs >= 0) {
          ctx.heartbeat();
          await ctx.sleep(holdMs);
        } else {
          while (!opened.has(holder)) {
            ctx.heartbeat();
            await ctx.sleep(50);
          }
        }
      } catch (err) {
        journal.push({ resource, holder, token, kind: 'cancelled', at: Date.now() });
        throw err;
      }
      journal.push({ resource, holder, token, kind: 'leave', at: Date.now() });
      return { token };
    },
  };
  return {
    journal,
    fencedResource,
    activities,
    open: (holder: string) => opened.add(holder),
    /** Holders of `resource` in the order they entered. */
    enterOrder: (resource: string) =>
      journal.filter((e) => e.resource === resource && e.kind === 'enter').map((e) => e.holder),
  };
}

/** Fails if two holders of `resource` were ever inside at the same time. */
export function overlaps(journal: JournalEntry[], resource: string): string[] {
  const problems: string[] = [];
  let inside: JournalEntry | undefined;
  for (const e of journal.filter((j) => j.resource === resource)) {
    if (e.kind === 'enter') {
      if (inside) problems.push(`${e.holder} entered while ${inside.holder} was inside`);
      inside = e;
    } else if (inside?.holder === e.holder) inside = undefined;
  }
  return problems;
}

export async function lockStatus(client: Client, resource: string): Promise<LockStatus | undefined> {
  try {
    return await client.workflow.getHandle(lockWorkflowId(resource)).query(statusQuery);
  } catch {
    return undefined;
  }
}

/** Poll until `pred` holds on the lock's status; throws with the last status after timeoutMs. */
export async function untilStatus(
  client: Client,
  resource: string,
  pred: (s: LockStatus) => boolean,
  timeoutMs = 20_000,
): Promise<LockStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: LockStatus | undefined;
  while (Date.now() < deadline) {
    last = await lockStatus(client, resource);
    if (last && pred(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`lock ${resource} never reached the expected state; last: ${JSON.stringify(last)}`);
}

/** Wait for workflows to close without asking a time-skipping server to skip time. */
export async function untilClosed(handles: WorkflowHandle[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const h of handles) {
    for (;;) {
      const d = await h.describe();
      if (d.status.name !== 'RUNNING') break;
      if (Date.now() > deadline) throw new Error(`${h.workflowId} still running after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
