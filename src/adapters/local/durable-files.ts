/**
 * File writes that a crash cannot leave half done, and a lock that serialises read-modify-write
 * of one file across processes on this machine. The local adapters keep all their state this way.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

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

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Callers in this process queue here first, so the file lock is only contended across processes.
const inProcess = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` while holding `lockPath` (a file created with O_EXCL holding our pid). A lock left
 * by a process that is gone is broken: on one machine a dead pid is proof the holder crashed.
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

async function holdFileLock<T>(lockPath: string, fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  await mkdir(path.dirname(lockPath), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const file = await open(lockPath, 'wx');
      await file.writeFile(String(process.pid));
      await file.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
    // Known gap: two processes breaking the same dead holder's lock at once can both proceed.
    // That needs a crash and a race together, on one machine; the adapters' own checks (tag
    // digests, exclusive creates) still refuse a conflicting write.
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && !processAlive(holder)) {
      await unlink(lockPath).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline)
      throw new Error(
        `lock ${lockPath} is held by pid ${holder || 'unknown'}; gave up after ${timeoutMs} ms`,
      );
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
