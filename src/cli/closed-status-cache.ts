/**
 * The status answers of closed runs, kept under the state dir. A closed run's status never
 * changes, and asking for it makes a worker replay the whole history, so `release-flow status`
 * asks workers only about runs still open (docs/command-line.md).
 */
import path from 'node:path';
import { readJsonFile, writeFileAtomic } from '../adapters/local/durable-files';

export interface ClosedStatusCache<T> {
  get(runId: string): T | undefined;
  set(runId: string, status: T): void;
  /** Writes the entries of `runIds` only, so the file holds no more than one listing. */
  save(runIds: Iterable<string>): Promise<void>;
}

export function closedStatusCacheFile(stateDir: string): string {
  return path.resolve(stateDir, 'cli-status-cache.json');
}

export async function openClosedStatusCache<T>(file: string): Promise<ClosedStatusCache<T>> {
  // A missing, unreadable or corrupt cache is an empty one: every run is asked again.
  const stored = await readJsonFile<Record<string, T>>(file).catch(() => null);
  const entries = new Map<string, T>(
    stored && typeof stored === 'object' && !Array.isArray(stored) ? Object.entries(stored) : [],
  );
  let changed = false;
  return {
    get: (runId) => entries.get(runId),
    set(runId, status) {
      entries.set(runId, status);
      changed = true;
    },
    async save(runIds) {
      const keep = new Set(runIds);
      const kept = [...entries].filter(([id]) => keep.has(id));
      if (!changed && kept.length === entries.size) return;
      // A state dir that cannot be written only costs the next call its speed.
      await writeFileAtomic(file, JSON.stringify(Object.fromEntries(kept))).catch(() => undefined);
    },
  };
}
