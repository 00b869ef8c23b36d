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
import { temporal } from '@temporalio/proto';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import {
  isRunning,
  parseIdentity,
  selfIdentity,
  type ProcessIdentity,
} from '../adapters/local/process-identity';

const { PendingActivityState } = temporal.api.enums.v1;

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

/** The records of `dir`, each checked by `accept`; an unreadable or malformed one is null. */
function readJsonRecords<T>(
  dir: string,
  accept: (value: T) => T | null,
): { file: string; record: T | null }[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.map((name) => {
    const file = path.join(dir, name);
    try {
      return { file, record: accept(JSON.parse(readFileSync(file, 'utf8')) as T) };
    } catch {
      return { file, record: null };
    }
  });
}

function readRecords(dir: string): { file: string; record: AttemptRecord | null }[] {
  return readJsonRecords<AttemptRecord>(dir, (value) => {
    const owner = parseIdentity(value.owner);
    return owner && typeof value.taskToken === 'string' ? { ...value, owner } : null;
  });
}

export interface OrphanedAttempt {
  workflowId: string;
  activityType: string;
  attempt: number;
  ownerPid: number;
  /** `cancelled`: the workflow had asked for the attempt's cancellation while it was orphaned. */
  outcome: 'failed' | 'cancelled';
}

/** Which attempt to end: its task token (journaled), or its ids (seen on a dead worker's name). */
type AttemptRef = Uint8Array | { workflowId: string; runId: string; activityId: string };

/**
 * Ends one orphaned attempt as its dead worker would have. When the workflow had requested its
 * cancellation (a revoked lock cancels the holder's work while the worker is down), the attempt
 * is reported cancelled: Temporal does not retry a failed attempt whose cancellation was
 * requested, so a failure would reach the workflow as the step's own failure instead of the
 * cancellation it asked for. Otherwise it fails with the retryable `WorkerDied`.
 */
async function endOrphan(
  client: Client,
  ref: AttemptRef,
  cancelRequested: boolean,
  ownerPid: number,
): Promise<OrphanedAttempt['outcome'] | null> {
  const activities = client.activity;
  const settle = (p: Promise<void>, outcome: OrphanedAttempt['outcome']) =>
    p.then(
      () => outcome,
      () => null,
    );
  if (cancelRequested) {
    const details = {
      reason: `the worker running this attempt (pid ${ownerPid}) died after its cancellation was requested`,
    };
    return await settle(
      ref instanceof Uint8Array
        ? activities.reportCancellation(ref, details)
        : activities.reportCancellation(ref, details),
      'cancelled',
    );
  }
  const failure = ApplicationFailure.retryable(
    `the worker running this attempt (pid ${ownerPid}) died; retrying`,
    WORKER_DIED,
  );
  return await settle(
    ref instanceof Uint8Array ? activities.fail(ref, failure) : activities.fail(ref, failure),
    'failed',
  );
}

type PendingActivity = temporal.api.workflow.v1.IPendingActivityInfo;

/** The workflow's pending activities as the server has them (read, not a heartbeat: that would overwrite their details). */
async function pendingActivities(
  client: Client,
  workflowId: string,
  runId: string,
): Promise<PendingActivity[]> {
  return await client.workflow
    .getHandle(workflowId, runId)
    .describe()
    .then(
      (d) => d.raw.pendingActivities ?? [],
      () => [],
    );
}

const CANCEL_REQUESTED = PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED;

/**
 * A worker's name and task queue, one file per worker process under `<stateDir>/attempts/workers`.
 * A task the worker had received but not yet begun when it died is in no attempt record; the
 * server still names the dead worker as the attempt's last worker, so the next worker finds it
 * by that name.
 */
interface WorkerRecord {
  owner: ProcessIdentity;
  identity: string;
  taskQueue: string;
}

function workersDir(stateDir: string): string {
  return path.join(attemptsDir(stateDir), 'workers');
}

function readWorkerRecords(dir: string): { file: string; record: WorkerRecord | null }[] {
  return readJsonRecords<WorkerRecord>(dir, (value) => {
    const owner = parseIdentity(value.owner);
    const ok = owner && typeof value.identity === 'string' && typeof value.taskQueue === 'string';
    return ok ? { ...value, owner } : null;
  });
}

/** At most this many running workflows are looked at per dead worker (one describe each). */
const SWEEP_LIMIT = 1000;

/** Ends the attempts the server still has started by the dead worker `record` names. */
async function sweepDeadWorker(
  client: Client,
  namespace: string,
  record: WorkerRecord,
  seen: Set<string>,
): Promise<OrphanedAttempt[]> {
  const ended: OrphanedAttempt[] = [];
  const query = `TaskQueue = '${record.taskQueue.replace(/'/g, "\\'")}' AND ExecutionStatus = 'Running'`;
  let looked = 0;
  try {
    for await (const wf of client.workflow.list({ query })) {
      if (++looked > SWEEP_LIMIT) break;
      for (const a of await pendingActivities(client, wf.workflowId, wf.runId)) {
        const started =
          a.state === PendingActivityState.PENDING_ACTIVITY_STATE_STARTED || a.state === CANCEL_REQUESTED;
        const key = `${wf.runId}/${a.activityId}`;
        if (!started || a.lastWorkerIdentity !== record.identity || !a.activityId || seen.has(key)) continue;
        seen.add(key);
        await client.workflowService
          .resetStickyTaskQueue({ namespace, execution: { workflowId: wf.workflowId, runId: wf.runId } })
          .catch(() => undefined);
        const ref = { workflowId: wf.workflowId, runId: wf.runId, activityId: a.activityId };
        const outcome = await endOrphan(client, ref, a.state === CANCEL_REQUESTED, record.owner.pid);
        if (outcome)
          ended.push({
            workflowId: wf.workflowId,
            activityType: a.activityType?.name ?? '',
            attempt: a.attempt ?? 0,
            ownerPid: record.owner.pid,
            outcome,
          });
      }
    }
  } catch {
    // Visibility unavailable: those attempts end at their timeouts, as without this sweep.
  }
  return ended;
}

/**
 * Ends every journaled attempt whose worker is no longer running (pid and start time), so
 * Temporal retries it now instead of at its timeout (or, when its cancellation was requested,
 * the workflow sees that cancellation now); unreadable records are dropped. Attempts
 * Temporal already closed (timed out, completed) are simply forgotten. Then the attempts the
 * server still has started by a dead worker of this state directory (by its name: tasks it had
 * received but not begun). `self`, when given, is recorded for the next worker's sweep.
 */
export async function failOrphanedAttempts(
  client: Client,
  namespace: string,
  stateDir: string,
  self?: { identity: string; taskQueue: string },
): Promise<OrphanedAttempt[]> {
  const failed: OrphanedAttempt[] = [];
  const seen = new Set<string>();
  for (const { file, record } of readRecords(attemptsDir(stateDir))) {
    if (record && isRunning(record.owner)) continue;
    if (record) {
      seen.add(`${record.runId}/${record.activityId}`);
      // The dead worker's sticky queue would hold the next workflow task until its timeout.
      await client.workflowService
        .resetStickyTaskQueue({
          namespace,
          execution: { workflowId: record.workflowId, runId: record.runId },
        })
        .catch(() => undefined);
      const cancelRequested = (await pendingActivities(client, record.workflowId, record.runId)).some(
        (a) =>
          a.activityId === record.activityId && a.attempt === record.attempt && a.state === CANCEL_REQUESTED,
      );
      const token = Buffer.from(record.taskToken, 'base64');
      const outcome = await endOrphan(client, token, cancelRequested, record.owner.pid);
      if (outcome)
        failed.push({
          workflowId: record.workflowId,
          activityType: record.activityType,
          attempt: record.attempt,
          ownerPid: record.owner.pid,
          outcome,
        });
    }
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
  const dir = workersDir(stateDir);
  for (const { file, record } of readWorkerRecords(dir)) {
    if (record && isRunning(record.owner)) continue;
    if (record) failed.push(...(await sweepDeadWorker(client, namespace, record, seen)));
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
  if (self) {
    const owner = selfIdentity();
    mkdirSync(dir, { recursive: true });
    const file = path.join(
      dir,
      `${createHash('sha256').update(`${self.identity}:${owner.pid}:${owner.startTime}`).digest('hex').slice(0, 32)}.json`,
    );
    writeFileSync(`${file}.tmp`, JSON.stringify({ owner, ...self } satisfies WorkerRecord));
    renameSync(`${file}.tmp`, file);
  }
  return failed;
}
