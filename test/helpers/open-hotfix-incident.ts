/**
 * The set-up of tests that close an incident: a clone with the hotfix's `fix(HOT-1)` commit, and
 * `HOT-1` of `acme/shop` open (broken v1.4.0) with the hotfix activities over it.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createHotfixActivities } from '../../src/activities/hotfix';
import { LocalGitRepository } from '../../src/adapters/local/git-repository';
import { LocalIncidents } from '../../src/adapters/local/local-incidents';
import type { RepositoryConfig } from '../../src/config/schema';
import type { Alerts } from '../../src/ports/alerts';
import type { Tickets } from '../../src/ports/tickets';
import type { Wiki } from '../../src/ports/wiki';
import { git } from './git-fixture';

export const HOTFIX_REPO = 'acme/shop';

/** A new clone under `root` whose one commit is the hotfix; returns its path and the commit. */
export function hotfixClone(root: string): { clone: string; commit: string } {
  const clone = path.join(root, 'shop');
  git(root, 'init', '-q', '-b', 'main', clone);
  writeFileSync(path.join(clone, 'app.txt'), 'fixed\n');
  git(clone, 'add', '.');
  git(clone, 'commit', '-q', '-m', 'fix(HOT-1): the fix');
  return { clone, commit: git(clone, 'rev-parse', 'HEAD') };
}

/** Opens HOT-1 in `dir`'s incident records and gives the hotfix activities over them. */
export async function openHotfixIncident(opts: {
  dir: string;
  clone: string;
  tickets: Tickets;
  wiki: Wiki;
  alerts?: Alerts;
}): Promise<ReturnType<typeof createHotfixActivities>> {
  const incidents = new LocalIncidents(opts.dir);
  await incidents.open({
    id: 'HOT-1',
    repository: HOTFIX_REPO,
    branch: 'HOT-1',
    brokenVersion: 'v1.4.0',
    decision: { name: 'emergency', by: 'ana', at: '2026-12-08T01:00:00.000Z' },
    openedAt: '2026-12-08T01:00:00.000Z',
  });
  const repository = { name: HOTFIX_REPO, path: opts.clone, defaultBranch: 'main' } as RepositoryConfig;
  return createHotfixActivities({
    incidents,
    repository: (name) => (name === HOTFIX_REPO ? repository : undefined),
    git: async () => await LocalGitRepository.open(opts.clone),
    tickets: () => Promise.resolve(opts.tickets),
    wiki: () => Promise.resolve(opts.wiki),
    ...(opts.alerts ? { alerts: opts.alerts } : {}),
  });
}
