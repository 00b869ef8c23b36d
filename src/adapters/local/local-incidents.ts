/**
 * Incident records on this machine: one JSON file (`<stateDir>/incidents.json`) changed under a
 * file lock, read by the worker's activities and by `release-flow hotfix status`.
 */
import path from 'node:path';
import { DefinitiveFailure, FailureTypes } from '../../domain/failures';
import { IncidentKinds, nextIncidentId } from '../../domain/incident-ids';
import type { IncidentRecord, IncidentReservation, Incidents } from '../../ports/incidents';
import { readJsonFile, withFileLock, writeFileAtomic } from './durable-files';

/** What every incident starts with, whether opened by name or reserved by key. */
function justOpened(): Pick<
  IncidentRecord,
  'state' | 'hotfixVersions' | 'pullRequest' | 'closedAt' | 'commits'
> {
  return { state: 'open', hotfixVersions: [], pullRequest: null, closedAt: null, commits: {} };
}

interface IncidentsFile {
  incidents: IncidentRecord[];
}

export class LocalIncidents implements Incidents {
  readonly file: string;

  constructor(dir: string) {
    this.file = path.join(path.resolve(dir), 'incidents.json');
  }

  async open(
    record: Omit<IncidentRecord, 'state' | 'hotfixVersions' | 'pullRequest' | 'closedAt'>,
  ): Promise<IncidentRecord> {
    let result: IncidentRecord | undefined;
    await this.change((all) => {
      const earlier = all.find((i) => i.repository === record.repository && i.id === record.id);
      if (earlier) {
        result = earlier;
        return all;
      }
      result = { ...record, ...justOpened() };
      return [...all, result];
    });
    return result!;
  }

  async reserve(key: string, record: IncidentReservation): Promise<IncidentRecord> {
    let result: IncidentRecord | undefined;
    await this.change((all) => {
      const earlier = all.find((i) => i.key === key);
      if (earlier) {
        result = earlier;
        return all;
      }
      const id = nextIncidentId(
        IncidentKinds.hotfix,
        all.map((i) => i.id),
      );
      result = { ...record, id, branch: id, key, ...justOpened() };
      return [...all, result];
    });
    return result!;
  }

  async get(repository: string, id: string): Promise<IncidentRecord | null> {
    return (await this.list()).find((i) => i.repository === repository && i.id === id) ?? null;
  }

  async list(): Promise<IncidentRecord[]> {
    return (await readJsonFile<IncidentsFile>(this.file))?.incidents ?? [];
  }

  async update(
    repository: string,
    id: string,
    change: (record: IncidentRecord) => IncidentRecord,
  ): Promise<IncidentRecord> {
    let result: IncidentRecord | undefined;
    await this.change((all) => {
      const at = all.findIndex((i) => i.repository === repository && i.id === id);
      if (at < 0) {
        throw new DefinitiveFailure(
          FailureTypes.documentNotFound,
          `no incident ${id} of ${repository}: it is opened by an emergency decision`,
        );
      }
      result = change(all[at]!);
      return all.map((r, i) => (i === at ? result! : r));
    });
    return result!;
  }

  private async change(fn: (all: IncidentRecord[]) => IncidentRecord[]): Promise<void> {
    await withFileLock(`${this.file}.lock`, async () => {
      const next = fn(await this.list());
      await writeFileAtomic(this.file, `${JSON.stringify({ incidents: next }, null, 2)}\n`);
    });
  }
}
