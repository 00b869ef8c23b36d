/**
 * FencedResource on local disk: one JSON file per resource under `dir` holding the newest token
 * seen and a bounded journal of admitted actions. Writes are atomic (temp file + rename) and
 * serialised per resource within this process.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StaleFencingTokenError, type FencedAction, type FencedResource } from '../../ports/fenced-resource';

export interface FencedRecord {
  resource: string;
  newestToken: number;
  journal: (FencedAction & { at: string })[];
}

const JOURNAL_LIMIT = 500;

export function createLocalFencedResource(dir: string): FencedResource & {
  read(resource: string): Promise<FencedRecord>;
} {
  const chains = new Map<string, Promise<unknown>>();
  const fileOf = (resource: string) => path.join(dir, `${encodeURIComponent(resource)}.json`);

  async function read(resource: string): Promise<FencedRecord> {
    try {
      return JSON.parse(await readFile(fileOf(resource), 'utf8')) as FencedRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { resource, newestToken: 0, journal: [] };
      throw err;
    }
  }

  function serial<T>(resource: string, fn: () => Promise<T>): Promise<T> {
    const prev = chains.get(resource) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    chains.set(
      resource,
      next.catch(() => undefined),
    );
    return next;
  }

  return {
    read,
    async newestToken(resource) {
      return (await read(resource)).newestToken;
    },
    admit(action) {
      return serial(action.resource, async () => {
        const record = await read(action.resource);
        if (action.token < record.newestToken)
          throw new StaleFencingTokenError(action.resource, action.token, record.newestToken);
        const journal = [...record.journal, { ...action, at: new Date().toISOString() }].slice(
          -JOURNAL_LIMIT,
        );
        const next: FencedRecord = { resource: action.resource, newestToken: action.token, journal };
        await mkdir(dir, { recursive: true });
        const file = fileOf(action.resource);
        const tmp = `${file}.${process.pid}.tmp`;
        await writeFile(tmp, `${JSON.stringify(next, null, 2)}\n`);
        await rename(tmp, file);
        return { newestToken: next.newestToken };
      });
    },
  };
}
