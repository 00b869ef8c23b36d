/**
 * The hotfix flow's own rules (docs/pipelines-and-decisions.md "Hotfix flow"): a hotfix is a patch on the line that runs
 * in production, so its version is the next free patch of that line, and a commit that would
 * make it a feature or a breaking change fails it, named.
 */
import type { CommitEffect } from './commit-analysis';

const SEMVER = /^(v?)(\d+)\.(\d+)\.(\d+)$/;

/**
 * The next free patch on the line of `deployed`: v1.4.0 -> v1.4.1, or v1.4.2 when v1.4.1 is
 * `taken` (a tag exists). Never a version of another line. Throws on a version that is not X.Y.Z.
 */
export function nextFreePatch(deployed: string, taken: readonly string[]): string {
  const m = SEMVER.exec(deployed);
  if (!m) throw new Error(`${deployed} is not a release version vX.Y.Z`);
  const [, prefix = '', major, minor, patch] = m;
  const used = new Set(taken);
  for (let p = Number(patch) + 1; ; p++) {
    const candidate = `${prefix}${major}.${minor}.${p}`;
    if (!used.has(candidate)) return candidate;
  }
}

/** Candidates in order, for an adapter that can only ask "does this tag exist?". */
export function patchCandidates(deployed: string, count: number): string[] {
  const taken: string[] = [];
  for (let i = 0; i < count; i++) taken.push(nextFreePatch(deployed, taken));
  return taken;
}

export interface HotfixCommitProblem {
  sha: string;
  header: string;
  message: string;
}

/**
 * The first commit that is not a patch (a `feat`, or a breaking change), oldest first, or null.
 * `commits` come newest first, as the analyzer gives them.
 */
export function nonPatchCommit(commits: readonly CommitEffect[]): HotfixCommitProblem | null {
  for (const c of [...commits].reverse()) {
    if (c.effect === 'minor' || c.effect === 'major') {
      return {
        sha: c.sha,
        header: c.header,
        message: `commit ${c.sha.slice(0, 12)} "${c.header}" is a ${c.effect === 'major' ? 'breaking change' : 'feature'}: a hotfix is a patch; move it to main and keep only fix commits on the hotfix branch`,
      };
    }
  }
  return null;
}
