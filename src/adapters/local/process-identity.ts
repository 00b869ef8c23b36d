/**
 * Who a process is, beyond its pid: a pid is reused (the compose container's node is pid 1 after
 * every restart), so a record that names a process also names its start time, read from
 * /proc/<pid>/stat with the boot it belongs to. Where /proc is missing, only the pid is known.
 */
import { readFileSync } from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** `<boot id>:<start time in clock ticks>`; null when the system does not say. */
  startTime: string | null;
}

let bootId: string | undefined;

function currentBootId(): string {
  if (bootId === undefined) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootId = '';
    }
  }
  return bootId;
}

/** The start time of a running process, or null when it is gone or the system does not say. */
export function processStartTime(pid: number): string | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Field 22 is starttime; the fields after the name begin at field 3.
  const ticks = fields[22 - 3];
  return ticks ? `${currentBootId()}:${ticks}` : null;
}

export function selfIdentity(): ProcessIdentity {
  return { pid: process.pid, startTime: processStartTime(process.pid) };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True when the very process named is still running: its pid is alive and, when both start
 * times are known, it started when the record says (a reused pid is another process).
 */
export function isRunning(identity: ProcessIdentity): boolean {
  if (!Number.isInteger(identity.pid) || identity.pid <= 0 || !pidAlive(identity.pid)) return false;
  if (identity.startTime === null) return true;
  const now = processStartTime(identity.pid);
  return now === null || now === identity.startTime;
}

export function sameProcess(a: ProcessIdentity, b: ProcessIdentity): boolean {
  return a.pid === b.pid && (a.startTime === null || b.startTime === null || a.startTime === b.startTime);
}

/** A recorded identity from JSON, or null when the text is not one (empty, cut, a bare pid). */
export function parseIdentity(value: unknown): ProcessIdentity | null {
  if (typeof value !== 'object' || value === null) return null;
  const { pid, startTime } = value as { pid?: unknown; startTime?: unknown };
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return null;
  return { pid, startTime: typeof startTime === 'string' ? startTime : null };
}
