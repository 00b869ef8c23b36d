/**
 * The newcomer's demo repository: a small app whose build, unit tests, integration tests and
 * deploy are plain node scripts, with a few angular commits on `main`. Made once under the
 * state directory and reused by every later `npm start`.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const DEMO_REPOSITORY = 'demo/shop';

const FILES: Record<string, string> = {
  'app.js': 'module.exports.greet = (name) => `hello, ${name}`;\n',
  'french.js': 'module.exports.greet = (name) => `bonjour, ${name}`;\n',
  'build.js':
    "const fs = require('fs');\nfs.mkdirSync('dist', { recursive: true });\nfs.copyFileSync('app.js', 'dist/shop.js');\nconsole.log('built dist/shop.js');\n",
  'test.js':
    "const assert = require('assert');\nassert.equal(require('./app').greet('you'), 'hello, you');\nconsole.log('unit tests passed');\n",
  'integration-test.js':
    'console.log(`integration tests against ${process.env.RELEASE_FLOW_ENV} running ${process.env.RELEASE_FLOW_VERSION}: passed`);\n',
  'deploy.js':
    'console.log(`${process.env.RELEASE_FLOW_ACTION} ${process.env.RELEASE_FLOW_VERSION} to ${process.env.RELEASE_FLOW_ENV}`);\n',
  'README.md': '# demo shop\n\nA tiny app that release-flow releases in its demo.\n',
};

/** The commits the demo history is made of: angular headers with the ticket as scope. */
const COMMITS: { message: string; files: string[] }[] = [
  { message: 'feat(SHOP-1): greet visitors by name', files: ['app.js', 'README.md'] },
  {
    message: 'build(SHOP-2): build, test and deploy scripts',
    files: ['build.js', 'test.js', 'integration-test.js', 'deploy.js'],
  },
  { message: 'fix(SHOP-3): keep the greeting lower case', files: [] },
  { message: 'feat(SHOP-4): greet in French too', files: ['french.js'] },
];

/** Which commits the demo releases: the third (v1.0.0) and the fourth (v1.1.0). */
const RELEASED = [2, 3];

/** The demo's open pull request (stage 0): a branch off main, named and committed by the rules. */
const PULL_REQUEST = {
  number: 1,
  branch: 'ana/SHOP-5',
  message: 'feat(SHOP-5): greet in Spanish too',
  file: 'spanish.js',
  content: 'module.exports.greet = (name) => `hola, ${name}`;\n',
};

/** git in `cwd` as the demo's author, stdout trimmed. */
export async function demoGit(cwd: string, ...args: string[]): Promise<string> {
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'release-flow demo',
    GIT_AUTHOR_EMAIL: 'demo@release-flow.invalid',
    GIT_COMMITTER_NAME: 'release-flow demo',
    GIT_COMMITTER_EMAIL: 'demo@release-flow.invalid',
  };
  const { stdout } = await execFileAsync('git', args, { cwd, env });
  return stdout.trim();
}

export interface DemoPullRequest {
  number: number;
  branch: string;
  head: string;
}

export interface DemoRepository {
  path: string;
  created: boolean;
  head: string;
  /** The commits the demo pushes, oldest first: each becomes a release. */
  releases: string[];
  /** The branch the demo opens a pull request for, with its head. */
  pullRequest: DemoPullRequest;
}

async function releasedCommits(dir: string): Promise<string[]> {
  const all = (await demoGit(dir, 'rev-list', '--reverse', 'main')).split('\n');
  return RELEASED.map((i) => all[i]).filter((sha): sha is string => Boolean(sha));
}

export async function ensureDemoRepository(dir: string): Promise<DemoRepository> {
  const created = !existsSync(path.join(dir, '.git'));
  if (created) await createHistory(dir);
  return {
    path: dir,
    created,
    head: await demoGit(dir, 'rev-parse', 'main'),
    releases: await releasedCommits(dir),
    // Made for repositories of earlier demos too, which had no pull request yet.
    pullRequest: await ensurePullRequestBranch(dir),
  };
}

async function createHistory(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await demoGit(dir, 'init', '-q', '-b', 'main');
  await demoGit(dir, 'config', 'commit.gpgsign', 'false');
  for (const commit of COMMITS) {
    for (const file of commit.files) writeFileSync(path.join(dir, file), FILES[file]!);
    if (!commit.files.length) writeFileSync(path.join(dir, 'CHANGELOG'), `${commit.message}\n`);
    await demoGit(dir, 'add', '-A');
    await demoGit(dir, 'commit', '-q', '-m', commit.message);
  }
}

async function ensurePullRequestBranch(dir: string): Promise<DemoPullRequest> {
  const { number, branch } = PULL_REQUEST;
  const existing = await demoGit(dir, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`).catch(
    () => '',
  );
  if (existing) return { number, branch, head: existing };
  await demoGit(dir, 'checkout', '-q', '-b', branch, 'main');
  try {
    writeFileSync(path.join(dir, PULL_REQUEST.file), PULL_REQUEST.content);
    await demoGit(dir, 'add', PULL_REQUEST.file);
    await demoGit(dir, 'commit', '-q', '-m', PULL_REQUEST.message);
    return { number, branch, head: await demoGit(dir, 'rev-parse', 'HEAD') };
  } finally {
    await demoGit(dir, 'checkout', '-q', 'main');
  }
}

/** The demo's repository configuration: plain scripts, a short health watch so it finishes soon. */
export function demoRepositoryConfig(dir: string) {
  return {
    name: DEMO_REPOSITORY,
    path: dir,
    artifact: 'dist/shop.js',
    commands: {
      build: [['node', 'build.js']],
      unitTests: [['node', 'test.js']],
      integrationTests: [['node', 'integration-test.js']],
      // Deploys run outside a checkout: name the script by its path in the demo clone, which
      // lives in the state directory a sandbox hides, so it is given to them read-only.
      deploy: {
        dev: ['node', path.join(dir, 'deploy.js')],
        staging: ['node', path.join(dir, 'deploy.js')],
        production: ['node', path.join(dir, 'deploy.js')],
        files: [dir],
      },
    },
    // Long enough to try `release-flow demo break` while production is watched.
    health: { window: '10m', sampleInterval: '10s' },
    escalation: { realertAfter: '2m', escalateAfter: '5m' },
    // `demo/shop` reads as OWNER/REPO: a token in the environment must not send it to GitHub.
    github: { enabled: false },
  };
}
