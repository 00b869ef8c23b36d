/**
 * `next-version` on a repository with 50,000 commits since the last release tag, beside
 * @semantic-release/commit-analyzer on the same messages (docs/testing.md "Benchmarks";
 * goal: under 2 s, no slower than the analyzer). Ours is timed end to end, git included; the
 * analyzer gets the messages already read, which favours it.
 *
 *   npx tsx bench/next-version.bench.ts [COMMITS]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { main } from '../src/cli/main';

const COUNT = Number(process.argv[2] ?? 50_000);

const SAMPLES = [
  'docs: update the guide\n\nLonger explanation of the change,\nover a few lines.',
  'chore(deps): bump something from 1.2.3 to 1.2.4',
  'fix(api): handle empty payloads\n\nCloses #123',
  'refactor(core/io): split the reader',
  'test: cover the edge case',
  'perf: cache the parsed config',
  'feat(JIRA-1234): add the export button\n\nWith a body.\n\nReviewed-by: someone',
  'style: format',
  'ci: run on node 20',
  'Merge pull request #42 from someone/JIRA-42\n\nfix(JIRA-42): handle nulls',
];

/** Builds the repository with git fast-import: one tag, then COUNT commits since it. */
function buildRepository(dir: string, count: number): string[] {
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  const parts: string[] = [];
  const messages: string[] = [];
  const add = (mark: number, message: string, from: number | null) => {
    const data = Buffer.from(message, 'utf8');
    parts.push(
      `commit refs/heads/main\nmark :${mark}\ncommitter Bench <bench@example.com> ${1_600_000_000 + mark} +0000\n` +
        `data ${data.length}\n${message}\n${from ? `from :${from}\n` : ''}\n`,
    );
  };
  add(1, 'chore: initial commit', null);
  parts.push('reset refs/tags/v1.0.0\nfrom :1\n\n');
  for (let i = 0; i < count; i++) {
    const message = SAMPLES[i % SAMPLES.length]!;
    messages.push(message);
    add(i + 2, message, i + 1);
  }
  const result = spawnSync('git', ['fast-import', '--quiet'], {
    cwd: dir,
    input: parts.join(''),
    maxBuffer: 1 << 30,
  });
  if (result.status !== 0) throw new Error(`fast-import failed: ${result.stderr.toString()}`);
  execFileSync('git', ['checkout', '-q', 'main'], { cwd: dir });
  return messages.reverse();
}

async function timeIt<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

async function bench(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'release-flow-bench-'));
  try {
    const built = await timeIt(async () => buildRepository(dir, COUNT));
    console.log(
      `built ${COUNT} commits since v1.0.0 with git fast-import in ${(built.ms / 1000).toFixed(2)} s`,
    );

    let output = '';
    const ours = await timeIt(() =>
      main(['node', 'release-flow', 'next-version', '--repo', dir, '--json'], {
        out: (s) => (output += s),
        err: (s) => console.error(s),
      }),
    );
    const report = JSON.parse(output) as { next: string; bump: string; commits: unknown[] };

    const { analyzeCommits } = await import('@semantic-release/commit-analyzer');
    const commits = built.value.map((message, i) => ({ hash: i.toString(16).padStart(40, '0'), message }));
    const theirs = await timeIt(() => analyzeCommits({}, { commits, logger: { log() {} }, cwd: dir }));

    if (report.bump !== theirs.value)
      throw new Error(`bump differs: ours ${report.bump}, analyzer ${theirs.value}`);
    console.log(`release-flow next-version (git log + analysis): ${ours.ms.toFixed(0)} ms -> ${report.next}`);
    console.log(
      `@semantic-release/commit-analyzer (analysis only): ${theirs.ms.toFixed(0)} ms -> ${theirs.value}`,
    );
    console.log(`ratio ours/analyzer: ${(ours.ms / theirs.ms).toFixed(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void bench();
