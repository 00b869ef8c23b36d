/**
 * File writes that a crash cannot leave half done, and a lock that serialises read-modify-write
 * of one file across processes on this machine. The local adapters keep all their state this way.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { isRunning, parseIdentity, selfIdentity, type ProcessIdentity } from './process-identity';

function temporaryName(target: string): string {
  return path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
}

async function writeTemporary(target: string, content: string | Buffer): Promise<string> {
  await mkdir(path.dirname(target), { recursive: true });
  const temporary = temporaryName(target);
  const file = await open(temporary, 'wx');
  try {
    await file.writeFile(content);
    await file.sync();
  } finally {
    await file.close();
  }
  return temporary;
}

/** Replaces `target` with `content` in one step: readers see the old or the new file, never a part. */
export async function writeFileAtomic(target: string, content: string | Buffer): Promise<void> {
  const temporary = await writeTemporary(target, content);
  try {
    await rename(temporary, target);
  } catch (err) {
    await unlink(temporary).catch(() => undefined);
    throw err;
  }
}

/**
 * Creates `target` with `content` only if it does not exist yet, atomically (a hard link of a
 * complete temporary file). Returns false, leaving the existing file alone, when it exists.
 */
export async function createFileExclusive(target: string, content: string | Buffer): Promise<boolean> {
  const temporary = await writeTemporary(target, content);
  try {
    await link(temporary, target);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

/** Parsed JSON of a file, or null when it does not exist. */
export async function readJsonFile<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

// Callers in this process queue here first, so the file lock is only contended across processes.
const inProcess = new Map<string, Promise<unknown>>();

/** An empty or unreadable lock older than this is a crash's leftover, not a holder mid-write. */
const UNREADABLE_LOCK_GRACE_MS = 2_000;

/**
 * Runs `fn` while holding `lockPath`: a file created atomically (complete or absent) naming the
 * holder by pid and process start time. A lock whose holder is gone is broken: on one machine a
 * dead holder is proof it crashed. A reused pid is not mistaken for the holder (its start time
 * differs), and an empty or corrupt lock file (a crash of an older release) is broken too.
 */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  timeoutMs = 30_000,
): Promise<T> {
  const previous = inProcess.get(lockPath) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => holdFileLock(lockPath, fn, timeoutMs));
  const settled = run.catch(() => undefined);
  inProcess.set(lockPath, settled);
  try {
    return await run;
  } finally {
    if (inProcess.get(lockPath) === settled) inProcess.delete(lockPath);
  }
}

type LockHolder = { kind: 'gone' } | { kind: 'unreadable'; ageMs: number } | ProcessIdentity;

async function readHolder(lockPath: string): Promise<LockHolder> {
  let text: string;
  let ageMs: number;
  try {
    const [content, info] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)]);
    text = content.trim();
    ageMs = Date.now() - info.mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
    throw err;
  }
  // Older releases wrote a bare pid.
  if (/^\d+$/.test(text)) return { pid: Number(text), startTime: null };
  try {
    return parseIdentity(JSON.parse(text)) ?? { kind: 'unreadable', ageMs };
  } catch {
    return { kind: 'unreadable', ageMs };
  }
}

function isStale(holder: LockHolder, self: ProcessIdentity): boolean {
  if ('kind' in holder) return holder.kind === 'unreadable' && holder.ageMs > UNREADABLE_LOCK_GRACE_MS;
  // Callers in this process are queued above, so a lock naming this process was left behind by
  // it (an unlink that failed), or by an earlier process with our pid (pid 1 in a container).
  if (holder.pid === self.pid) return true;
  return !isRunning(holder);
}

async function holdFileLock<T>(lockPath: string, fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  await mkdir(path.dirname(lockPath), { recursive: true });
  const self = selfIdentity();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await createFileExclusive(lockPath, JSON.stringify(self))) break;
    const holder = await readHolder(lockPath);
    if (!('kind' in holder) || holder.kind !== 'gone') {
      // Known gap: two processes breaking the same dead holder's lock at once can both proceed.
      // That needs a crash and a race together, on one machine; the adapters' own checks (tag
      // digests, exclusive creates) still refuse a conflicting write.
      if (isStale(holder, self)) {
        await unlink(lockPath).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(
          `lock ${lockPath} is held by ${'pid' in holder ? `pid ${holder.pid}` : 'an unreadable holder'}; gave up after ${timeoutMs} ms`,
        );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}

/**
 * The records of a JSON-lines file, oldest first; none when it does not exist. A line cut by a
 * crash mid-append is skipped rather than failing every later read (the retry writes it whole).
 */
export async function readJsonLines<T>(file: string): Promise<T[]> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  return text
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as T];
      } catch {
        return [];
      }
    });
}
