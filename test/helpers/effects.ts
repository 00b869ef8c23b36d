/**
 * Every effect of a repository's releases, counted in the local adapters' journals (the chaos
 * suite's count): tags and `HOT-<n>` branches in the clone, uploads to the filesystem registry,
 * deploys and rollbacks, tickets, pages, pull requests and alerts, and which of them happened
 * more than once. Several state directories (one per process of the topology) are counted together.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readJsonLines } from '../../src/adapters/local/durable-files';
import { pullRequestRegistryPath } from '../../src/adapters/local/local-pull-requests';

export function walk(dir: string, suffix: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? walk(path.join(dir, e.name), suffix)
      : e.name.endsWith(suffix)
        ? [path.join(dir, e.name)]
        : [],
  );
}

export interface Tally {
  tags: number;
  uploads: number;
  deploys: number;
  tickets: number;
  pages: number;
  branches: number;
  pullRequests: number;
  alerts: number;
}

function git(dir: string, ...a: string[]): string[] {
  return execFileSync('git', a, { cwd: dir, encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/**
 * What was appended to a ticket or page more than once: the blocks after each append marker,
 * their timestamp heading left out (a retry that appended again would stamp a later time).
 */
function repeatedAppends(file: string): string[] {
  const blocks = readFileSync(file, 'utf8')
    .split(/^<!-- release-flow:[0-9a-f]+ -->$/m)
    .slice(1)
    .map((b) =>
      b
        .trim()
        .replace(/^### [^\n]*?(: closed)?\n/, (_, closed: string | undefined) => (closed ? 'closed\n' : ''))
        .trim(),
    );
  const seen = new Map<string, number>();
  for (const b of blocks) seen.set(b, (seen.get(b) ?? 0) + 1);
  return [...seen]
    .filter(([, n]) => n > 1)
    .map(([b, n]) => `${n}x in ${path.basename(file)}: ${b.split('\n')[0]}`);
}

/** Every deploy and rollback of the repository, by environment file, action and version. */
export function environmentChanges(repoName: string, stateDirs: string[]): Map<string, number> {
  const key = repoName.replace('/', '-');
  const changes = new Map<string, number>();
  for (const stateDir of stateDirs) {
    for (const file of walk(path.join(stateDir, 'environments'), '.json')) {
      if (!path.basename(file).includes(key)) continue;
      const state = JSON.parse(readFileSync(file, 'utf8')) as {
        history?: { action: string; version: string; at?: string }[];
      };
      for (const h of state.history ?? []) {
        const k = `${path.basename(file)} ${h.action} ${h.version}`;
        changes.set(k, (changes.get(k) ?? 0) + 1);
      }
    }
  }
  return changes;
}

/** Every effect of a repository in these state directories, and what happened more than once. */
export async function countEffects(
  repo: { name: string; dir: string },
  stateDirs: string[],
): Promise<{ tally: Tally; duplicates: string[] }> {
  const duplicates: string[] = [];
  const deploys = environmentChanges(repo.name, stateDirs);
  for (const [k, n] of deploys) if (n > 1) duplicates.push(`${n}x ${k}`);
  const alerts = [];
  for (const stateDir of stateDirs) {
    alerts.push(
      ...(
        await readJsonLines<{ key: string; repository?: string; text?: string }>(
          path.join(stateDir, 'alerts.jsonl'),
        )
      ).filter((a) => JSON.stringify(a).includes(repo.name)),
    );
  }
  const alertKeys = new Map<string, number>();
  for (const a of alerts) alertKeys.set(a.key, (alertKeys.get(a.key) ?? 0) + 1);
  for (const [k, n] of alertKeys) if (n > 1) duplicates.push(`${n}x alert ${k}`);
  const mentions = (files: string[]) => files.filter((f) => readFileSync(f, 'utf8').includes(repo.name));
  const tickets = stateDirs.flatMap((d) => mentions(walk(path.join(d, 'tickets'), '.md')));
  const pages = stateDirs.flatMap((d) => mentions(walk(path.join(d, 'wiki'), '.md')));
  for (const f of [...tickets, ...pages]) duplicates.push(...repeatedAppends(f));
  for (const f of tickets) {
    const closings = (readFileSync(f, 'utf8').match(/^### .*: closed$/gm) ?? []).length;
    if (closings > 1) duplicates.push(`${closings}x closed ${path.basename(f)}`);
  }
  const pullRequests = stateDirs.flatMap((stateDir) => {
    const registry = pullRequestRegistryPath(path.join(stateDir, 'pull-requests'), repo.name);
    return existsSync(registry)
      ? (
          JSON.parse(readFileSync(registry, 'utf8')) as { pullRequests: { headRef: string }[] }
        ).pullRequests.filter((p) => p.headRef.startsWith('HOT-'))
      : [];
  });
  const prHeads = new Map<string, number>();
  for (const p of pullRequests) prHeads.set(p.headRef, (prHeads.get(p.headRef) ?? 0) + 1);
  for (const [h, n] of prHeads) if (n > 1) duplicates.push(`${n}x pull request from ${h}`);
  const uploads = stateDirs.flatMap((d) =>
    walk(path.join(d, 'registry'), '.json').filter((f) => f.includes(encodeURIComponent(repo.name))),
  ).length;
  return {
    tally: {
      tags: git(repo.dir, 'tag', '--list', 'v*').length,
      uploads,
      deploys: [...deploys.values()].reduce((a, b) => a + b, 0),
      tickets: tickets.length,
      pages: pages.length,
      branches: git(repo.dir, 'branch', '--list', 'HOT-*').length,
      pullRequests: pullRequests.length,
      alerts: alerts.length,
    },
    duplicates,
  };
}
