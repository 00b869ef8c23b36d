/**
 * What each commit since the last release does to the version, decided exactly as
 * `@semantic-release/commit-analyzer` decides it (docs/pipelines-and-decisions.md "Release rules"), and why.
 *
 * The conventional-commits parser itself is injected (`ParseCommitMessage`): the parser package
 * is ESM-only and drags Node streams along, so it is loaded by an adapter and this module stays
 * pure and bundle-safe for workflows. The differential test in test/unit holds this module and
 * the analyzer to the same answers.
 */

/** Commit-message conventions we read, as `preset` names of the analyzer. */
export const CommitPresets = {
  /** conventional-changelog-angular: `type(scope): subject`, `BREAKING CHANGE:` notes, no `!`. */
  angular: 'angular',
  /** conventional-changelog-conventionalcommits: as angular, plus `type!:` and `BREAKING-CHANGE:`. */
  conventionalcommits: 'conventionalcommits',
} as const;
export type CommitPreset = (typeof CommitPresets)[keyof typeof CommitPresets];

export function isCommitPreset(value: string): value is CommitPreset {
  return Object.values(CommitPresets).includes(value as CommitPreset);
}

/** Release types from highest to lowest, as semver names them. */
export const RELEASE_TYPES = ['major', 'minor', 'patch'] as const;
export type ReleaseType = (typeof RELEASE_TYPES)[number];

/** What a commit does to the version: a release type, or `none`. */
export type CommitEffectKind = ReleaseType | 'none';

/** A note such as `BREAKING CHANGE: the API changed`, as the parser reports it. */
export interface CommitNote {
  title: string;
  text: string;
}

/**
 * The parser's view of a message (conventional-commits-parser's `Commit`). Extra fields are
 * possible: the parser turns `-name-` lines into fields, and the analyzer's rules see them.
 */
export interface ParsedCommit {
  header: string | null;
  type?: string | null;
  scope?: string | null;
  subject?: string | null;
  merge: string | null;
  revert: Record<string, string | null> | null;
  notes: CommitNote[];
  [field: string]: unknown;
}

export type ParseCommitMessage = (message: string) => ParsedCommit;

/** A commit as the git port reads it. */
export interface RawCommit {
  sha: string;
  /** The full message (subject, body and trailers). */
  message: string;
  /** Parent shas; more than one makes a merge commit. */
  parents?: readonly string[];
}

export interface CommitEffect {
  sha: string;
  /** The first line of the message. */
  header: string;
  effect: CommitEffectKind;
  /** Why the commit has this effect, in words a release engineer can check. */
  reason: string;
  /** Set when the commit looks like it means more than the preset reads (a `feat!:` under angular...). */
  warning?: string;
  merge: boolean;
}

export interface CommitAnalysis {
  /** The highest effect of all commits, or null when nothing is releasable. */
  bump: ReleaseType | null;
  /** Every commit in the order given (newest first, like `git log`). */
  commits: CommitEffect[];
}

interface ReleaseRule {
  /** Matches commits with at least one note (a breaking change). */
  breaking?: true;
  /** Matches commits whose message is a revert. */
  revert?: true;
  /** A field the parsed commit must have, compared exactly (the analyzer's globs are all literals). */
  field?: string;
  value?: string;
  release: ReleaseType;
}

/**
 * The analyzer's default release rules (lib/default-release-rules.js), in its order. Most entries
 * are for other presets; they stay because a parsed angular commit can still carry such fields
 * (`FEAT:` is a JSHint type, `-tag-` lines become a `tag` field) and the analyzer honours them.
 */
const DEFAULT_RELEASE_RULES: readonly ReleaseRule[] = [
  { breaking: true, release: 'major' },
  { revert: true, release: 'patch' },
  { field: 'type', value: 'feat', release: 'minor' },
  { field: 'type', value: 'fix', release: 'patch' },
  { field: 'type', value: 'perf', release: 'patch' },
  { field: 'emoji', value: ':racehorse:', release: 'patch' },
  { field: 'emoji', value: ':bug:', release: 'patch' },
  { field: 'emoji', value: ':penguin:', release: 'patch' },
  { field: 'emoji', value: ':apple:', release: 'patch' },
  { field: 'emoji', value: ':checkered_flag:', release: 'patch' },
  { field: 'tag', value: 'BUGFIX', release: 'patch' },
  { field: 'tag', value: 'FEATURE', release: 'minor' },
  { field: 'tag', value: 'SECURITY', release: 'patch' },
  { field: 'tag', value: 'Breaking', release: 'major' },
  { field: 'tag', value: 'Fix', release: 'patch' },
  { field: 'tag', value: 'Update', release: 'minor' },
  { field: 'tag', value: 'New', release: 'minor' },
  { field: 'component', value: 'perf', release: 'patch' },
  { field: 'component', value: 'deps', release: 'patch' },
  { field: 'type', value: 'FEAT', release: 'minor' },
  { field: 'type', value: 'FIX', release: 'patch' },
];

/** True when `candidate` is a higher release type than `current` (null is lowest). */
export function isHigherRelease(current: ReleaseType | null, candidate: ReleaseType): boolean {
  return current === null || RELEASE_TYPES.indexOf(candidate) < RELEASE_TYPES.indexOf(current);
}

/** The analyzer's view of a commit: the input commit's fields overlaid with the parsed ones. */
type AnalyzedCommit = ParsedCommit & { hash: unknown; message: string };

/**
 * The analyzer builds `{ hash, message, ...parsed }`: parsed fields win. Filling the parser's
 * fresh object in place gives the same view without copying it (a copy per commit was a third
 * of the time on 50,000 commits).
 */
function asAnalyzed(parsed: ParsedCommit, sha: string, message: string): AnalyzedCommit {
  if (!Object.hasOwn(parsed, 'hash')) parsed.hash = sha;
  if (!Object.hasOwn(parsed, 'message')) parsed.message = message;
  return parsed as AnalyzedCommit;
}

function ruleMatches(rule: ReleaseRule, commit: AnalyzedCommit): boolean {
  if (rule.breaking && !(commit.notes && commit.notes.length > 0)) return false;
  if (rule.revert && !commit.revert) return false;
  return rule.field === undefined || commit[rule.field] === rule.value;
}

function describeRule(rule: ReleaseRule, commit: AnalyzedCommit): string {
  if (rule.breaking) {
    const note = commit.notes[0];
    return `breaking change (${note ? `${note.title}: ${oneLine(note.text)}` : 'note'})`;
  }
  if (rule.revert) return 'revert of a commit outside this range';
  return `${rule.field} \`${rule.value}\``;
}

function releaseOf(commit: AnalyzedCommit): { release: ReleaseType; rule: ReleaseRule } | null {
  let best: { release: ReleaseType; rule: ReleaseRule } | null = null;
  for (const rule of DEFAULT_RELEASE_RULES) {
    if (ruleMatches(rule, commit) && isHigherRelease(best?.release ?? null, rule.release)) {
      best = { release: rule.release, rule };
    }
  }
  return best;
}

function trimmedOrSame(value: unknown): unknown {
  return typeof value === 'string' ? value.trim() : value;
}

// conventional-commits-filter's isMatch: every field of the revert data equals the commit's, trimmed.
function isRevertOf(revert: Record<string, string | null>, commit: AnalyzedCommit): boolean {
  for (const key in revert) {
    if (trimmedOrSame(commit[key]) !== trimmedOrSame(revert[key])) return false;
  }
  return true;
}

/**
 * Pairs each revert with the commit it reverts, the way conventional-commits-filter does for
 * the analyzer: walking newest to oldest, a revert waits for an older commit whose header and
 * hash equal the revert's; the first waiting revert that matches wins, and both are dropped.
 * Returns, for every dropped index, the index of its partner.
 */
function pairReverts(commits: readonly (AnalyzedCommit | null)[]): Map<number, number> {
  const waiting: number[] = [];
  const partners = new Map<number, number>();
  commits.forEach((commit, index) => {
    if (!commit) return;
    const slot = waiting.findIndex((w) => isRevertOf(commits[w]!.revert!, commit));
    if (slot !== -1) {
      const revertIndex = waiting[slot]!;
      waiting.splice(slot, 1);
      partners.set(index, revertIndex);
      partners.set(revertIndex, index);
      return;
    }
    if (commit.revert) waiting.push(index);
  });
  return partners;
}

function firstLine(message: string): string {
  const end = message.search(/\r?\n/);
  return end === -1 ? message : message.slice(0, end);
}

function oneLine(text: string): string {
  const line = firstLine(text.trim());
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}

function short(sha: string): string {
  return sha.slice(0, 7);
}

/**
 * Decides the effect of each commit and the bump of them all.
 *
 * `commits` come newest first, as `git log` lists them: the order matters only to pair reverts
 * (a revert cancels an older commit). Messages are analysed as given; semantic-release trims
 * them when it reads git (see the git adapter), the analyzer itself does not.
 */
export function analyzeCommits(
  commits: readonly RawCommit[],
  parse: ParseCommitMessage,
  preset: CommitPreset = CommitPresets.angular,
): CommitAnalysis {
  // The analyzer skips empty messages before parsing; the parser would throw on them.
  const analyzed: (AnalyzedCommit | null)[] = commits.map(({ sha, message }) =>
    message.trim() ? asAnalyzed(parse(message), sha, message) : null,
  );
  const partners = pairReverts(analyzed);
  let bump: ReleaseType | null = null;
  const effects = commits.map((raw, index): CommitEffect => {
    const commit = analyzed[index] ?? null;
    const merge = (raw.parents?.length ?? 0) > 1;
    const base = { sha: raw.sha, header: firstLine(raw.message.trim()), merge };
    if (!commit) return { ...base, effect: 'none', reason: 'empty message: the analyzer skips it' };
    const partner = partners.get(index);
    if (partner !== undefined) {
      const other = commits[partner]!.sha;
      const reason = commit.revert
        ? `reverts ${short(other)}, which is in this range: both are left out`
        : `reverted by ${short(other)} in this range: both are left out`;
      // Deliberately cancelled: what the pair looked like no longer matters.
      return { ...base, effect: 'none', reason };
    }
    const release = releaseOf(commit);
    if (release) {
      if (isHigherRelease(bump, release.release)) bump = release.release;
      return withWarning(
        { ...base, effect: release.release, reason: describeRule(release.rule, commit) },
        commit,
        preset,
      );
    }
    return withWarning({ ...base, effect: 'none', reason: noReleaseReason(commit, merge) }, commit, preset);
  });
  return { bump, commits: effects };
}

function noReleaseReason(commit: AnalyzedCommit, merge: boolean): string {
  if (commit.type) return `type \`${commit.type}\` does not trigger a release`;
  if (merge || /^Merge /.test(commit.header ?? '')) {
    return 'merge commit: only a BREAKING CHANGE note in it would count; the merged commits count on their own';
  }
  return 'header is not `type(scope): subject`, so it has no type';
}

const RELEASING_TYPES = ['feat', 'fix', 'perf'] as const;
const TYPE_ALIASES: Readonly<Record<string, string>> = {
  feature: 'feat',
  features: 'feat',
  feats: 'feat',
  bugfix: 'fix',
  hotfix: 'fix',
  fixes: 'fix',
  fixed: 'fix',
  bug: 'fix',
  performance: 'perf',
};

/** Optimal string alignment distance, enough to catch `faet` or `fxi`. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

// A history holds few distinct types; each is worth judging once. Pure, so safe in workflows.
const intendedTypes = new Map<string, string | null>();

/** The releasing type a mistyped one was probably meant to be, if any. */
function intendedType(type: string): string | null {
  let meant = intendedTypes.get(type);
  if (meant === undefined) {
    meant = judgeIntendedType(type);
    if (intendedTypes.size < 10_000) intendedTypes.set(type, meant);
  }
  return meant;
}

function judgeIntendedType(type: string): string | null {
  const lower = type.toLowerCase();
  if (Object.hasOwn(TYPE_ALIASES, lower)) return TYPE_ALIASES[lower]!;
  for (const candidate of RELEASING_TYPES) {
    if (lower === candidate) return candidate;
    if (
      lower.length >= 3 &&
      Math.abs(lower.length - candidate.length) <= 1 &&
      editDistance(lower, candidate) === 1
    ) {
      return candidate;
    }
  }
  return null;
}

// Lines a human writes to mean "breaking", which a preset may not read as a note.
const BREAKING_LOOKALIKE = /^[\s|*]*(BREAKING[ _-]?CHANGES?|BREAKING)\s*:/i;
const PRESET_NOTE_KEYWORDS: Readonly<Record<CommitPreset, readonly string[]>> = {
  angular: ['BREAKING CHANGE'],
  conventionalcommits: ['BREAKING CHANGE', 'BREAKING-CHANGE'],
};
const BANG_HEADER = /^(\w+)(?:\(.*\))?!: /;
const LOOSE_HEADER = /^\W*(?::\w+:\s*)?(\w+)\s*(?:\([^)]*\))?\s*!?\s*:/;
const AUTOSQUASH = /^(fixup|squash|amend)! /;

/**
 * Points out what an author probably meant and the preset did not read: the reason a team
 * ships 0.65.0 believing it shipped 1.0.0.
 */
function lookalikeWarnings(commit: AnalyzedCommit, effect: CommitEffectKind, preset: CommitPreset): string[] {
  const found: string[] = [];
  const header = commit.header ?? '';
  if (effect !== 'major') {
    if (preset === CommitPresets.angular && BANG_HEADER.test(header)) {
      found.push(
        'the angular preset does not read `!` after the type: this commit counts as ' +
          `${effect === 'none' ? 'nothing' : effect}, not as a breaking change ` +
          '(add a `BREAKING CHANGE:` footer, or use the conventionalcommits preset)',
      );
    }
    // Most messages never say "breaking"; only those are worth splitting into lines.
    const lines = /breaking/i.test(commit.message) ? commit.message.split(/\r?\n/).slice(1) : [];
    const lookalike = lines
      .map((line) => BREAKING_LOOKALIKE.exec(line)?.[1])
      .find((k) => k !== undefined && !PRESET_NOTE_KEYWORDS[preset].includes(k.toUpperCase()));
    if (lookalike) {
      found.push(
        `\`${lookalike}:\` is not a breaking-change keyword of the ${preset} preset: this commit counts as ` +
          `${effect === 'none' ? 'nothing' : effect}, not major (write \`BREAKING CHANGE:\`)`,
      );
    }
  }
  if (effect !== 'none') return found;
  const autosquash = AUTOSQUASH.exec(header);
  if (autosquash) {
    found.push(
      `\`${autosquash[1]}!\` commit left unsquashed: it is ignored (squash it, or reword it as a conventional commit)`,
    );
  } else if (commit.type) {
    const meant = intendedType(commit.type);
    if (meant && meant !== commit.type) {
      found.push(
        `type \`${commit.type}\` is not \`${meant}\`: this commit is ignored, not released as \`${meant}\``,
      );
    }
  } else if (!BANG_HEADER.test(header)) {
    const loose = LOOSE_HEADER.exec(header);
    const meant = loose ? intendedType(loose[1]!) : null;
    if (meant) {
      found.push(
        `header looks like a \`${meant}\` commit but is not \`type(scope): subject\` ` +
          '(check the type is first and a space follows the colon): it is ignored',
      );
    }
  }
  return found;
}

function withWarning(effect: CommitEffect, commit: AnalyzedCommit, preset: CommitPreset): CommitEffect {
  const warnings = lookalikeWarnings(commit, effect.effect, preset);
  return warnings.length ? { ...effect, warning: warnings.join('; ') } : effect;
}
