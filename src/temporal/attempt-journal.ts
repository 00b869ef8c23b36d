/**
 * The activity attempts a worker is running, one small file each under `<stateDir>/attempts`.
 * When a worker is SIGKILLed, Temporal learns its attempts are lost only when their timeouts
 * expire (minutes for a build). The next worker on the same state directory reads the journal
 * at boot and fails each attempt whose worker is gone, at once, so the retry starts now: and the
 * retry first ends the orphaned step's process group (see the process-group records).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import {
  isRunning,
  parseIdentity,
  selfIdentity,
  type ProcessIdentity,
} from '../adapters/local/process-identity';

/** The failure type of an attempt whose worker died; retryable, so the activity runs again. */
export const WORKER_DIED = 'WorkerDied';

interface AttemptRecord {
  owner: ProcessIdentity;
  taskToken: string;
  workflowId: string;
  runId: string;
  activityId: string;
  activityType: string;
  attempt: number;
  startedAt: string;
}

export function attemptsDir(stateDir: string): string {
  return path.join(stateDir, 'attempts');
}

function recordFile(dir: string, taskToken: Uint8Array): string {
  return path.join(dir, `${createHash('sha256').update(taskToken).digest('hex').slice(0, 32)}.json`);
}

/** Writes a record when an attempt starts and removes it when the attempt ends, however it ends. */
export function attemptJournalInterceptor(stateDir: string): ActivityInterceptorsFactory {
  const dir = attemptsDir(stateDir);
  mkdirSync(dir, { recursive: true });
  const owner = selfIdentity();
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const info = ctx.info;
        const file = recordFile(dir, info.taskToken);
        const record: AttemptRecord = {
          owner,
          taskToken: Buffer.from(info.taskToken).toString('base64'),
          workflowId: info.workflowExecution?.workflowId ?? '',
          runId: info.workflowExecution?.runId ?? '',
          activityId: info.activityId,
          activityType: info.activityType,
          attempt: info.attempt,
          startedAt: new Date().toISOString(),
        };
        // Synchronous: the record must exist before the activity can do anything a crash would orphan.
        writeFileSync(`${file}.tmp`, JSON.stringify(record));
        renameSync(`${file}.tmp`, file);
        try {
          return await next(input);
        } finally {
          try {
            unlinkSync(file);
          } catch {
            // already gone
          }
        }
      },
    },
  });
}

function readRecords(dir: string): { file: string; record: AttemptRecord | null }[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.map((name) => {
    const file = path.join(dir, name);
    try {
      const value = JSON.parse(readFileSync(file, 'utf8')) as AttemptRecord;
      const owner = parseIdentity(value.owner);
      return { file, record: owner && typeof value.taskToken === 'string' ? { ...value, owner } : null };
    } catch {
      return { file, record: null };
    }
  });
}

export interface OrphanedAttempt {
  workflowId: string;
  activityType: string;
  attempt: number;
  ownerPid: number;
}

/**
 * Fails every journaled attempt whose worker is no longer running (pid and start time), so
 * Temporal retries it now instead of at its timeout; unreadable records are dropped. Attempts
 * Temporal already closed (timed out, completed) are simply forgotten.
 */
export async function failOrphanedAttempts(
  client: Client,
  namespace: string,
  stateDir: string,
): Promise<OrphanedAttempt[]> {
  const failed: OrphanedAttempt[] = [];
  for (const { file, record } of readRecords(attemptsDir(stateDir))) {
    if (record && isRunning(record.owner)) continue;
    if (record) {
      // The dead worker's sticky queue would hold the next workflow task until its timeout.
      await client.workflowService
        .resetStickyTaskQueue({
          namespace,
          execution: { workflowId: record.workflowId, runId: record.runId },
        })
        .catch(() => undefined);
      const reason = `the worker running this attempt (pid ${record.owner.pid}) died; retrying`;
      const done = await client.activity
        .fail(Buffer.from(record.taskToken, 'base64'), ApplicationFailure.retryable(reason, WORKER_DIED))
        .then(
          () => true,
          () => false,
        );
      if (done)
        failed.push({
          workflowId: record.workflowId,
          activityType: record.activityType,
          attempt: record.attempt,
          ownerPid: record.owner.pid,
        });
    }
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
  return failed;
}
