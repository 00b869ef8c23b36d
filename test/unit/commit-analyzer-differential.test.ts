/**
 * Differential test: our commit analysis against @semantic-release/commit-analyzer on the same
 * commits, for both presets (docs/pipelines-and-decisions.md "Release rules"): the analyzer decides, not a list of cases.
 * Compared: the bump, and the effect of every commit the analyzer reports on (it logs each).
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeCommits, type CommitPreset, type ParseCommitMessage } from '../../src/domain/commit-analysis';
import { loadCommitParser } from '../../src/adapters/conventional-commits/commit-parser';

type Analyzer = typeof import('@semantic-release/commit-analyzer').analyzeCommits;
interface Commit {
  hash: string;
  message: string;
}

// A seeded generator: failures must reproduce, and lint keeps Math.random out of the rules anyway.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sha(random: () => number): string {
  let s = '';
  for (let i = 0; i < 40; i++) s += '0123456789abcdef'[Math.floor(random() * 16)];
  return s;
}

const TYPES = [
  'feat',
  'fix',
  'perf',
  'docs',
  'chore',
  'refactor',
  'style',
  'test',
  'build',
  'ci',
  'revert',
  'FEAT',
  'FIX',
  'Feat',
  'Fix',
  'PERF',
  'feature',
  'fea',
  'bugfix',
  '',
  'feat_x',
  'fix2',
];
const SCOPES = [null, 'core', 'JIRA-1234', 'a/b', 'api.v2', '', '*', 'x y', 'a(b)', 'ü', '$@.-*/ '];
const SEPARATORS = [': ', ': ', ': ', '!: ', ':', ' : ', ':  ', '! : '];
const SUBJECTS = [
  'add thing',
  '✨ sparkle',
  'fix #12',
  'handle (parens): colon',
  '🐛',
  'x',
  'Closes #4',
  ' lead',
];
const BODIES = [
  '',
  'A longer body\nover two lines.',
  'BREAKING CHANGE: the API changed',
  'BREAKING CHANGE the API changed',
  'BREAKING-CHANGE: the API changed',
  'breaking change: lowercase note',
  'BREAKING CHANGES: plural',
  'BREAKING: short',
  '  * BREAKING CHANGE: bulleted',
  '| BREAKING CHANGE: piped',
  'Body first.\n\nBREAKING CHANGE: after body\nmore text\nCloses #3',
  'Closes #12\nBREAKING CHANGE: after reference',
  '-tag-\nBUGFIX',
  '-tag-\nFEATURE',
  '-emoji-\n:bug:',
  '-component-\ndeps',
  '-type-\nfeat',
  '-hash-\n1234567',
  '# a comment line\nBREAKING CHANGE: after comment',
  'gpg: Signature made\nbody',
  '# ------------------------ >8 ------------------------\nBREAKING CHANGE: below scissors',
  'Co-authored-by: someone <a@b.c>',
  'Signed-off-by: x <x@y.z>\nBREAKING CHANGE: trailer after signoff',
  'Closes #5\nBREAKING CHANGE: after a reference',
  'BREAKING CHANGE: first\nFixes #6\nBREAKING CHANGE: skipped after reference',
  'Refs: org/repo#7, closes #8\n-tag-\nBUGFIX',
  'BREAKING CHANGE: note\nResolves #9\n-type-\nfeat',
];
const PREFIXES = ['', '', '', '', 'fixup! ', 'squash! ', 'amend! ', ' ', '\n', ':sparkles: ', '✨ '];

function header(random: () => number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const scope = pick(SCOPES);
  return `${pick(PREFIXES)}${pick(TYPES)}${scope === null ? '' : `(${scope})`}${pick(SEPARATORS)}${pick(SUBJECTS)}`;
}

function message(random: () => number, older: readonly Commit[]): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const roll = random();
  const target = older.length ? pick(older) : null;
  const targetHeader = target ? target.message.trim().split(/\r?\n/)[0]! : 'feat: something';
  let text: string;
  if (roll < 0.08 && target) {
    // A git revert: the reverted header and full hash, the shape the filter pairs.
    text = `Revert "${targetHeader}"\n\nThis reverts commit ${target.hash}.`;
  } else if (roll < 0.11 && target) {
    text = `revert: ${targetHeader}\n\nThis reverts commit ${target.hash.slice(0, 7)}.`;
  } else if (roll < 0.13) {
    text = `Revert "${targetHeader}"\n\nThis reverts commit ${sha(random)}.`;
  } else if (roll < 0.17) {
    text = `Merge pull request #${Math.floor(random() * 100)} from someone/JIRA-1\n\n${header(random)}\n\n${pick(BODIES)}`;
  } else if (roll < 0.2) {
    text = `Merge branch 'main' into feature`;
  } else if (roll < 0.22) {
    text = pick(['', '   ', '\n\n']);
  } else {
    // Most bodies carry a note or a field; used sparingly, every outcome stays common.
    const body = random() < 0.25 ? pick(BODIES) : random() < 0.3 ? 'A plain body.' : '';
    const footer = random() < 0.08 ? `\n\n${pick(BODIES)}` : '';
    text = body ? `${header(random)}\n\n${body}${footer}` : header(random);
  }
  return random() < 0.15 ? text.replace(/\n/g, '\r\n') : text;
}

/** Commits newest first, each possibly reverting an older one. */
function commitSet(seed: number): Commit[] {
  const random = prng(seed);
  const size = 1 + Math.floor(random() * 8);
  const oldestFirst: Commit[] = [];
  for (let i = 0; i < size; i++)
    oldestFirst.push({ hash: sha(random), message: message(random, oldestFirst) });
  return oldestFirst.reverse();
}

// Sets a reader can check by eye; each pins one of the behaviours the issue lists.
const HAND_PICKED: { name: string; messages: string[] }[] = [
  { name: 'feat is minor', messages: ['feat: a'] },
  { name: 'fix is patch', messages: ['fix(core): a'] },
  { name: 'perf is patch', messages: ['perf: a'] },
  { name: 'docs only is no release', messages: ['docs: a', 'chore: b'] },
  { name: 'BREAKING CHANGE footer is major', messages: ['fix: a\n\nBREAKING CHANGE: b'] },
  { name: 'BREAKING-CHANGE footer', messages: ['fix: a\n\nBREAKING-CHANGE: b'] },
  { name: 'lowercase note', messages: ['fix: a\n\nbreaking change: b'] },
  { name: 'bang header', messages: ['feat!: a'] },
  { name: 'bang header with scope', messages: ['feat(api)!: a', 'fix: b'] },
  { name: 'uppercase FEAT (JSHint rule)', messages: ['FEAT: a'] },
  { name: 'capitalised Feat', messages: ['Feat: a'] },
  { name: 'CRLF body with note', messages: ['feat: a\r\n\r\nBREAKING CHANGE: b\r\n'] },
  { name: 'emoji subject', messages: ['feat: ✨ a'] },
  { name: 'emoji before type', messages: ['✨ feat: a'] },
  { name: 'fixup', messages: ['fixup! feat: a'] },
  { name: 'squash', messages: ['squash! fix: a'] },
  { name: 'scope with slash and dot', messages: ['fix(a/b.c): d'] },
  {
    name: 'merge commit with note in body',
    messages: ['Merge pull request #1 from a/b\n\nBREAKING CHANGE: c'],
  },
  { name: 'merge commit with feat body', messages: ["Merge branch 'x'\n\nfeat: a"] },
  { name: 'missing space after colon', messages: ['feat:a'] },
  { name: 'typo type', messages: ['faet: a', 'fxi: b'] },
  { name: 'field line sets tag', messages: ['chore: a\n\n-tag-\nFEATURE'] },
  { name: 'note in a field block is not a note', messages: ['fix: a\n\n-x-\nBREAKING CHANGE: b'] },
  { name: 'empty message', messages: ['', 'docs: a'] },
  // References are not extracted by our parser (for speed): they must not change any decision.
  {
    name: 'reference between two notes',
    messages: ['fix: a\n\nBREAKING CHANGE: b\nCloses #1\nBREAKING CHANGE: c'],
  },
  { name: 'reference on the note line', messages: ['fix: a\n\nBREAKING CHANGE: fixes #1 and more'] },
  { name: 'reference before a note', messages: ['fix: a\n\nCloses #1\nBREAKING CHANGE: b'] },
  { name: 'reference before a field', messages: ['chore: a\n\nResolves #2\n-tag-\nFEATURE'] },
  { name: 'note, reference, field', messages: ['chore: a\n\nBREAKING CHANGE: x\nfixes #3\n-tag-\nBUGFIX'] },
  { name: 'references in the header', messages: ['fix(#12): closes #12, fixes org/repo#3'] },
  {
    name: 'reference then revert text',
    messages: ['Revert "feat: a"\n\nCloses #9\nThis reverts commit abcdef1.'],
  },
];

function handPickedCommits(messages: string[]): Commit[] {
  const random = prng(messages.length * 7919);
  return messages.map((m) => ({ hash: sha(random), message: m }));
}

function withReverts(): Commit[][] {
  const a = { hash: 'a'.repeat(40), message: 'feat: a' };
  const b = { hash: 'b'.repeat(40), message: `Revert "feat: a"\n\nThis reverts commit ${a.hash}.` };
  const c = { hash: 'c'.repeat(40), message: `Revert "Revert "feat: a""\n\nThis reverts commit ${b.hash}.` };
  const early = {
    hash: 'd'.repeat(40),
    message: `Revert "fix: later"\n\nThis reverts commit ${'e'.repeat(40)}.`,
  };
  const later = { hash: 'e'.repeat(40), message: 'fix: later' };
  const short = { hash: 'f'.repeat(40), message: `Revert "feat: a"\n\nThis reverts commit aaaaaaa.` };
  return [
    [b, a],
    [c, b, a],
    [later, early],
    [short, a],
    [b, b, a],
    [{ ...b, hash: '1'.repeat(40) }, b, a],
  ];
}

interface Observed {
  bump: string | null;
  /** "effect message" for each commit the analyzer analysed, sorted. */
  effects: string[];
  /** True when the analyzer stopped early on a major and reported only some commits. */
  stoppedEarly: boolean;
}

async function runAnalyzer(analyze: Analyzer, preset: CommitPreset, commits: Commit[]): Promise<Observed> {
  const effects: string[] = [];
  let current: string | null = null;
  const logger = {
    log: (format: unknown, ...args: unknown[]) => {
      const text = String(format);
      if (text.startsWith('Analyzing commit:')) current = String(args[0]);
      else if (text.startsWith('The release type for the commit is'))
        effects.push(`${String(args[0])} ${current}`);
      else if (text.startsWith('The commit should not trigger a release')) effects.push(`none ${current}`);
    },
  };
  const bump = await analyze({ preset }, { commits, logger, cwd: process.cwd() });
  const nonEmpty = commits.filter((c) => c.message.trim()).length;
  return { bump, effects: effects.sort(), stoppedEarly: bump === 'major' && effects.length < nonEmpty };
}

function runOurs(parse: ParseCommitMessage, preset: CommitPreset, commits: Commit[]): Observed {
  const analysis = analyzeCommits(
    commits.map((c) => ({ sha: c.hash, message: c.message })),
    parse,
    preset,
  );
  const effects = analysis.commits
    .map((effect, i) => ({ effect, message: commits[i]!.message }))
    // Commits the analyzer never reports: empty ones and reverted pairs.
    .filter(({ effect, message }) => message.trim() && !/both are left out/.test(effect.reason))
    .map(({ effect, message }) => `${effect.effect} ${message}`);
  return { bump: analysis.bump, effects: effects.sort(), stoppedEarly: false };
}

async function compare(
  analyze: Analyzer,
  parse: ParseCommitMessage,
  preset: CommitPreset,
  commits: Commit[],
) {
  const theirs = await runAnalyzer(analyze, preset, commits);
  const ours = runOurs(parse, preset, commits);
  const context = `preset ${preset}, commits ${JSON.stringify(commits)}`;
  assert.equal(ours.bump, theirs.bump, `bump differs: ${context}`);
  if (theirs.stoppedEarly) {
    // The analyzer stops at the first major; what it did report must be in ours.
    for (const e of theirs.effects) assert.ok(ours.effects.includes(e), `effect ${e} missing: ${context}`);
  } else {
    assert.deepEqual(ours.effects, theirs.effects, `per-commit effects differ: ${context}`);
  }
}

for (const preset of ['angular', 'conventionalcommits'] as const) {
  describe(`commit analysis equals @semantic-release/commit-analyzer (${preset})`, () => {
    let analyze: Analyzer;
    let parse: ParseCommitMessage;
    before(async () => {
      analyze = (await import('@semantic-release/commit-analyzer')).analyzeCommits;
      parse = await loadCommitParser(preset);
    });

    for (const { name, messages } of HAND_PICKED) {
      it(`hand-picked: ${name}`, async () => {
        await compare(analyze, parse, preset, handPickedCommits(messages));
      });
    }

    it('revert chains, early reverts, abbreviated hashes and double reverts', async () => {
      for (const commits of withReverts()) await compare(analyze, parse, preset, commits);
    });

    it('2500 generated commit sets', async () => {
      const seen = { major: 0, minor: 0, patch: 0, none: 0 };
      for (let seed = 1; seed <= 2500; seed++) {
        const commits = commitSet(seed * 31 + (preset === 'angular' ? 0 : 7));
        await compare(analyze, parse, preset, commits);
        const bump = analyzeCommits(
          commits.map((c) => ({ sha: c.hash, message: c.message })),
          parse,
          preset,
        ).bump;
        seen[bump ?? 'none']++;
      }
      // The generator must exercise every outcome, or the comparison proves little.
      for (const [outcome, count] of Object.entries(seen)) {
        assert.ok(count > 100, `only ${count} sets gave ${outcome}: ${JSON.stringify(seen)}`);
      }
    });
  });
}
