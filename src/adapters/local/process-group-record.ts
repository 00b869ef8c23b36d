/**
 * The process group a step's command runs in, recorded in a file beside the step's state so the
 * next attempt of that step can end it first. Steps run detached (their own group) and outlive
 * a worker that is SIGKILLed; without this, the retried activity would start a second copy while
 * the first still runs. The record names the leader by pid and start time: a reused pid is
 * never killed by mistake.
 */
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  isRunning,
  parseIdentity,
  processStartTime,
  selfIdentity,
  type ProcessIdentity,
} from './process-identity';

export interface GroupRecord {
  /** The group's id: the pid of its leader, the step's command. */
  leader: ProcessIdentity;
  /** The worker that started it. */
  owner: ProcessIdentity;
  argv0: string;
}

/** Records `pid` as the leader of the running step's group (synchronously: a crash right after still finds it). */
export function recordGroup(file: string, pid: number, argv0: string): void {
  const record: GroupRecord = {
    leader: { pid, startTime: processStartTime(pid) },
    owner: selfIdentity(),
    argv0,
  };
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(record));
  renameSync(temporary, file);
}

export function readGroupRecord(file: string): GroupRecord | null {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as {
      leader?: unknown;
      owner?: unknown;
      argv0?: unknown;
    };
    const leader = parseIdentity(value.leader);
    const owner = parseIdentity(value.owner);
    if (!leader || !owner) return null;
    return { leader, owner, argv0: typeof value.argv0 === 'string' ? value.argv0 : '' };
  } catch {
    return null;
  }
}

/** Forgets the record if it still names `pid` (a later attempt may have replaced it). */
export function clearGroupRecord(file: string, pid: number): void {
  if (readGroupRecord(file)?.leader.pid !== pid) return;
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the recorded group is still the one the step started. While its leader lives, the
 * leader's start time decides. Once the leader has exited, members left in the group are still
 * ours: Linux gives no new process a pid that is in use as a group id.
 */
function stillOurs(record: GroupRecord): boolean {
  const pgid = record.leader.pid;
  const leaderStart = processStartTime(pgid);
  if (leaderStart !== null) return isRunning(record.leader);
  return groupAlive(pgid);
}

/**
 * Ends what the previous attempt of this step left running: SIGKILL to its whole group, then
 * waits (up to `waitMs`) until no member is left. Returns the pid of the group it ended, if any.
 */
export async function killRecordedGroup(file: string, waitMs = 5_000): Promise<number | null> {
  const record = readGroupRecord(file);
  if (!record) return null;
  const pgid = record.leader.pid;
  let killed: number | null = null;
  // No owner check: Temporal starts the next attempt only once it holds the previous one over
  // (timed out, failed, or its worker gone), so whatever still runs for it is an orphan.
  if (stillOurs(record)) {
    try {
      process.kill(-pgid, 'SIGKILL');
      killed = pgid;
    } catch {
      // ESRCH: gone meanwhile
    }
    // A leader nobody reaps (no init in a container) stays a zombie: bounded wait.
    const deadline = Date.now() + waitMs;
    while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
  return killed;
}
