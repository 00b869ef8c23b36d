import '../helpers/runtime';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import {
  createStatusActivities,
  type CommitStatusReceipt,
  type CommitStatusRequest,
} from '../../src/activities/statuses';
import { createGitHubClients } from '../../src/adapters/github/client';
import { createLocalFencedResource } from '../../src/adapters/local/fenced-resource';
import { LocalMetricSource } from '../../src/adapters/local/local-metric-source';
import { validateConfig } from '../../src/config/load';
import { createLocalPipelinePorts } from '../../src/composition/pipeline-ports';
import { createRepositoryPorts } from '../../src/composition/repository-ports';
import { startHotfix, startMainCommit, startTagRelease } from '../../src/starter';
import {
  anyPipelineStatusQuery as statusQuery,
  type AnyPipelineStatus as PipelineStatus,
} from '../../src/workflows/pipeline-status';
import { emergencySignal } from '../../src/workflows/production/messages';
import { FakeGitHub, type FakeRepo } from '../helpers/fake-github';
import { waitFor } from '../helpers/ports';
import { inBackground, stopWorkerAndServer, type BackgroundWorker } from '../helpers/background-worker';
import { devServerEnv, unique, workflowBundle } from '../helpers/temporal-env';
import { git } from '../helpers/git-fixture';

/** A small app whose build, tests and integration tests are node scripts. */
function makeRepository(dir: string): string {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  writeFileSync(
    path.join(dir, 'build.js'),
    "require('fs').mkdirSync('dist',{recursive:true});require('fs').writeFileSync('dist/app.txt','app');\n",
  );
  writeFileSync(path.join(dir, 'test.js'), 'process.exit(0);\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'feat(APP-1): the first feature');
  writeFileSync(path.join(dir, 'README'), 'fix\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'fix(APP-2): a fix');
  return git(dir, 'rev-parse', 'HEAD');
}

/** GitHub knows the commits the clone has (as after a push): same ids, parents and messages. */
function pushTo(fake: FakeGitHub, repo: FakeRepo, dir: string): void {
  for (const sha of git(dir, 'rev-list', '--reverse', 'HEAD').split('\n')) {
    const parents = git(dir, 'show', '-s', '--format=%P', sha).split(' ').filter(Boolean);
    fake.commit(repo, git(dir, 'show', '-s', '--format=%B', sha), { sha, parents, branch: 'main' });
  }
}

/** A GitHub wiki as GitHub creates it: a bare repository with a Home page on master. */
function makeWikiRemote(root: string): string {
  const remote = path.join(root, 'app.wiki.git');
  git(root, 'init', '-q', '--bare', '-b', 'master', remote);
  const seed = path.join(root, 'wiki-seed');
  git(root, 'clone', '-q', remote, seed);
  writeFileSync(path.join(seed, 'Home.md'), '# Home\n');
  git(seed, 'add', '-A');
  git(seed, 'commit', '-q', '-m', 'Initial Home page');
  git(seed, 'push', '-q', 'origin', 'HEAD:master');
  return remote;
}

const UI = 'http://temporal-ui.test';

describe('pipelines of a GitHub repository: tags, issues, wiki and commit statuses on GitHub', () => {
  const fake = new FakeGitHub();
  const base = mkdtempSync(path.join(os.tmpdir(), 'rf-github-pipelines-'));
  const repoDir = path.join(base, 'app');
  const stateDir = path.join(base, 'state');
  const repository = 'acme/app';
  const taskQueue = unique('e2e-github-pipelines');
  const githubRepo = fake.repo('acme', 'app');
  let wikiRemote: string;
  let head: string;
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: BackgroundWorker;

  const statuses = (context: string) =>
    githubRepo.statuses
      .filter((s) => s.sha === head && s.context === context)
      .map((s) => `${s.state}: ${s.description}`);

  /** The repository ports of a worker whose environment points at the fake GitHub. */
  const githubPorts = (state: string) =>
    createRepositoryPorts({
      stateDir: path.join(base, state),
      env: { GITHUB_TOKEN: fake.token, GITHUB_API_URL: fake.url },
      githubClients: createGitHubClients({
        token: fake.token,
        baseUrl: fake.url,
        pace: false,
        waitScaleMs: 5,
      }),
    });

  before(async () => {
    await fake.start();
    head = makeRepository(repoDir);
    pushTo(fake, githubRepo, repoDir);
    wikiRemote = makeWikiRemote(base);
    env = await devServerEnv();
    const config = validateConfig(
      {
        stateDir,
        repositories: [
          {
            name: repository,
            path: repoDir,
            artifact: 'dist/app.txt',
            commands: { build: [['node', 'build.js']], unitTests: [['node', 'test.js']] },
            health: {
              window: '30s',
              sampleInterval: '1s',
              minRequests: 1,
              consecutiveBadSamples: 2,
              minJudgedSamples: 2,
            },
            escalation: { realertAfter: '1h', escalateAfter: '2h' },
            github: { tickets: { labels: ['incident'], assignees: ['oncall-ana'] } },
          },
        ],
      },
      {},
    );
    const fencedResource = createLocalFencedResource(path.join(stateDir, 'fenced'));
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: createActivities({
        identity: 'e2e-github-pipelines',
        client: env.client,
        fencedResource,
        ...createLocalPipelinePorts({
          config,
          stateDir,
          fencedResource,
          uiUrl: UI,
          printAlert: () => {},
          // Only what a worker would read: selection by the token, GitHub at this API root.
          env: { GITHUB_TOKEN: fake.token, GITHUB_API_URL: fake.url },
          githubClient: { pace: false, waitScaleMs: 5 },
          gitWikiRemote: () => wikiRemote,
        }),
      }),
      maxHeartbeatThrottleInterval: '1 second',
    });
    running = inBackground(worker);
  });
  after(async () => {
    await stopWorkerAndServer(running, env);
    await fake.stop();
  });

  it('main-commit tags the release on GitHub and posts release-flow/main pending, then success', async () => {
    const started = await startMainCommit(env.client, { repository, commit: head }, { taskQueue });
    const handle = env.client.workflow.getHandle(started.workflowId);
    const outcome = (await handle.result()) as { state: string; tag: string; tagWorkflowId?: string };
    assert.deepEqual([outcome.state, outcome.tag], ['released', 'v1.0.0']);
    // GitHub sends the tag's push: that starts the tag pipeline, not this run.
    assert.equal(outcome.tagWorkflowId, undefined);
    assert.match(
      (await handle.query(statusQuery)).steps.find((s) => s.name === 'tag pipeline')?.detail ?? '',
      /^GitHub serves acme\/app: the push of v1\.0\.0 starts it$/,
    );

    assert.deepEqual(
      githubRepo.refs.get('tags/v1.0.0'),
      { type: 'commit', sha: head },
      'the tag is on GitHub',
    );
    const created = fake.writes().filter((w) => w.path === '/repos/acme/app/git/refs');
    assert.deepEqual(
      created.map((w) => (w.body as { ref: string }).ref),
      ['refs/tags/v1.0.0'],
      'made once, through the refs API',
    );
    assert.equal(git(repoDir, 'rev-parse', 'v1.0.0^{commit}'), head, 'and known to the clone');

    assert.deepEqual(statuses('release-flow/main'), [
      'pending: main-commit pipeline: build, unit tests, dev deploy, integration tests, release tag',
      'success: released v1.0.0 (minor)',
    ]);
    const { runId } = await handle.describe();
    const details = fake.latestStatus(githubRepo, head, 'release-flow/main')!.target_url;
    assert.equal(
      details,
      `${UI}/namespaces/default/workflows/${encodeURIComponent(started.workflowId)}/${runId}`,
      '"Details" opens this run in the Temporal UI',
    );
    assert.ok(!existsSync(path.join(stateDir, 'statuses.jsonl')), 'nothing in the local status journal');
    const history = JSON.stringify(await handle.fetchHistory());
    assert.ok(!history.includes(fake.token), 'the token never enters the history');
  });

  it('an emergency opens HOT-1 on GitHub with the configured labels and assignees, publishes the wiki page and branches HOT-1 there', async () => {
    // Production breaks as soon as this version arrives.
    await new LocalMetricSource({ dir: path.join(stateDir, 'apm') }).setErrorRate('production', 0.5);
    const tag = await startTagRelease(env.client, { repository, tag: 'v1.0.0', commit: head }, { taskQueue });
    assert.equal(tag.started, true, 'the main-commit pipeline of a GitHub repository started none');
    const tagOutcome = (await env.client.workflow.getHandle(tag.workflowId).result()) as {
      state: string;
      productionWorkflowId: string;
    };
    assert.equal(tagOutcome.state, 'promoted');
    assert.deepEqual(statuses('release-flow/staging'), [
      'pending: v1.0.0: staging lock, deploy and integration tests in staging',
      'success: v1.0.0 passed staging; handed to production',
    ]);

    const production = env.client.workflow.getHandle(tagOutcome.productionWorkflowId);
    const awaiting = await waitFor(
      async () => ((await production.query(statusQuery)) as PipelineStatus).awaitingDecision === true,
      60_000,
      200,
    );
    assert.equal(awaiting, true, 'the breach is waiting for a decision');
    await production.signal(emergencySignal, { by: 'oncall-ana', reason: 'checkout is down' });
    const ended = (await production.result()) as {
      state: string;
      hotfix: { id: string; ticketUrl: string; wikiUrl: string };
    };
    assert.equal(ended.state, 'hotfix-pending');
    assert.equal(ended.hotfix.id, 'HOT-1');

    const [issue, ...more] = githubRepo.issues;
    assert.equal(more.length, 0, 'one issue');
    assert.match(issue!.title, /^HOT-1: acme\/app v1\.0\.0: emergency declared by oncall-ana$/);
    assert.deepEqual([...issue!.labels].sort(), ['incident', 'release-flow', 'sev-1']);
    assert.deepEqual(issue!.assignees, ['oncall-ana']);
    assert.equal(ended.hotfix.ticketUrl, `https://github.example/acme/app/issues/${issue!.number}`);

    const page = git(base, '--git-dir', wikiRemote, 'show', 'master:HOT-1.md');
    assert.match(page, /Emergency hotfix of acme\/app v1\.0\.0/);
    assert.match(page, /oncall-ana/);
    assert.equal(ended.hotfix.wikiUrl, `${fake.url}/acme/app/wiki/HOT-1`);

    assert.deepEqual(
      githubRepo.refs.get('heads/HOT-1'),
      { type: 'commit', sha: head },
      'branch HOT-1 on GitHub',
    );

    const reported = statuses('release-flow/production');
    assert.equal(reported[0], 'pending: deploying v1.0.0 to production');
    assert.match(reported[1]!, /^pending: v1\.0\.0 in production; watching its health until /);
    assert.match(reported[2]!, /^failure: v1\.0\.0 breach: .*; awaiting a decision$/);
    assert.equal(reported[3], 'failure: v1.0.0 breach; emergency decided by oncall-ana');
    assert.equal(reported.length, 4);
  });

  it('a fix pushed to HOT-1 is released as the next patch through GitHub: tag v1.0.1, healthy, the PR back to main, the issue closed with the timeline', async () => {
    await new LocalMetricSource({ dir: path.join(stateDir, 'apm') }).setErrorRate('production', 0);
    git(repoDir, 'checkout', '-q', '-b', 'HOT-1', head);
    writeFileSync(path.join(repoDir, 'FIX'), 'no more 500s\n');
    git(repoDir, 'add', '.');
    git(repoDir, 'commit', '-q', '-m', 'fix(HOT-1): stop the 500s');
    const fix = git(repoDir, 'rev-parse', 'HEAD');
    git(repoDir, 'checkout', '-q', 'main');
    fake.commit(githubRepo, 'fix(HOT-1): stop the 500s', { sha: fix, parents: [head], branch: 'HOT-1' });

    const started = await startHotfix(
      env.client,
      { repository, branch: 'HOT-1', commit: fix },
      { taskQueue },
    );
    assert.equal(started.workflowId, `hotfix:${repository}:HOT-1:${fix}`);
    const outcome = (await env.client.workflow.getHandle(started.workflowId).result()) as { version: string };
    assert.equal(outcome.version, 'v1.0.1', 'the next free patch on the deployed line');
    assert.deepEqual(
      githubRepo.refs.get('tags/v1.0.1'),
      { type: 'commit', sha: fix },
      'the hotfix tag is on GitHub',
    );

    const production = env.client.workflow.getHandle(`production:${repository}:v1.0.1`);
    await waitFor(
      async () => (await production.describe().catch(() => undefined)) !== undefined,
      120_000,
      500,
    );
    const healthy = (await production.result()) as {
      state: string;
      closedIncident: { id: string; pullRequest: { number: number; url: string } };
    };
    assert.equal(healthy.state, 'healthy');
    const pull = githubRepo.pulls.find((p) => p.headRef === 'HOT-1');
    assert.ok(pull, 'a pull request from HOT-1');
    assert.equal(pull.baseRef, 'main');
    assert.equal(pull.state, 'open');
    assert.deepEqual(healthy.closedIncident, {
      id: 'HOT-1',
      pullRequest: { number: pull.number, url: `https://github.example/acme/app/pull/${pull.number}` },
    });
    const issue = githubRepo.issues.find((i) => i.title.startsWith('HOT-1:'))!;
    assert.equal(issue.state, 'closed', 'the ticket is closed');
    const timeline = issue.comments.at(-1)!.body;
    assert.match(timeline, /Broken release: acme\/app v1\.0\.0/);
    assert.match(timeline, /Decision: emergency by oncall-ana/);
    assert.match(timeline, /Healthy in production: v1\.0\.1 at /);
    assert.match(timeline, new RegExp(`#${pull.number} `));
    const page = git(base, '--git-dir', wikiRemote, 'show', 'master:HOT-1.md');
    assert.match(page, /Timeline of HOT-1/);
  });

  it('a status GitHub refuses is reported once, naming the permission, and the activity still answers', async () => {
    const config = validateConfig({ repositories: [{ name: repository }] }, {});
    const ports = githubPorts('refused-state');
    const { postCommitStatus } = createStatusActivities(
      { repository: () => config.repositories[0], statuses: ports.statuses, uiUrl: UI },
      { backoffMs: [1, 1] },
    );
    const lift = fake.deny({ method: 'POST', path: /\/statuses\//, permission: 'statuses=write' });
    const before = fake.requests('POST').length;
    const request: CommitStatusRequest = {
      repository,
      commit: head,
      context: 'release-flow/main',
      state: 'success',
      description: 'released',
    };
    const activity = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
    let receipt: CommitStatusReceipt;
    try {
      receipt = await activity.run(postCommitStatus, request);
    } finally {
      lift();
    }
    assert.equal(receipt.posted, false);
    assert.match(receipt.error ?? '', /needs commit statuses: write/);
    assert.equal(fake.requests('POST').length - before, 1, 'a missing permission is not retried');
  });

  it('a post held up by a rate limit is abandoned with its activity and never lands later', async () => {
    const config = validateConfig({ repositories: [{ name: repository }] }, {});
    // Retries after GitHub's own wait (1 s per retry-after second), as in production.
    const slow = createRepositoryPorts({
      stateDir: path.join(base, 'slow-state'),
      env: { GITHUB_TOKEN: fake.token, GITHUB_API_URL: fake.url },
      githubClients: createGitHubClients({ token: fake.token, baseUrl: fake.url, pace: false }),
    });
    const { postCommitStatus } = createStatusActivities(
      { repository: () => config.repositories[0], statuses: slow.statuses, uiUrl: UI },
      { backoffMs: [1, 1] },
    );
    const posted = (description: string) => githubRepo.statuses.filter((s) => s.description === description);
    const run = (description: string, activity: MockActivityEnvironment) =>
      activity.run(postCommitStatus, {
        repository,
        commit: head,
        context: 'release-flow/main',
        state: 'pending',
        description,
      } satisfies CommitStatusRequest);
    const quiet = () => new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });

    // The activity is cancelled (as when its time is up) while the client waits to retry.
    fake.rateLimitNext('secondary');
    const cancelled = quiet();
    const running = run('abandoned with its activity', cancelled);
    // Once GitHub has refused the first request, the client is waiting out the limit.
    const refused = fake.requests('POST').length;
    await waitFor(() => fake.requests('POST').length > refused, 5_000, 10);
    cancelled.cancel();
    await running.catch(() => undefined);
    // The retry GitHub asked for would have come after 1 s: wait past it.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.deepEqual(posted('abandoned with its activity'), [], 'the abandoned post landed after all');

    // An attempt over its own deadline (the client still waiting) gives way to the next one;
    // its own retry never lands afterwards as a second copy.
    const deadline = createStatusActivities(
      { repository: () => config.repositories[0], statuses: slow.statuses, uiUrl: UI },
      { backoffMs: [1, 1], attemptTimeoutMs: 300 },
    );
    fake.rateLimitNext('secondary');
    const receipt: CommitStatusReceipt = await quiet().run(deadline.postCommitStatus, {
      repository,
      commit: head,
      context: 'release-flow/main',
      state: 'pending',
      description: 'given up at the deadline',
    } satisfies CommitStatusRequest);
    assert.equal(receipt.posted, true);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(posted('given up at the deadline').length, 1, 'the attempt given up landed late as a copy');
  });

  it('with wiki mode "contents" the retrospective is a markdown file in the repository', async () => {
    const ports = githubPorts('contents-state');
    const config = validateConfig(
      {
        repositories: [{ name: repository, github: { wiki: { mode: 'contents', folder: 'docs/retros' } } }],
      },
      {},
    );
    const wiki = await ports.wiki(config.repositories[0]!);
    const ref = await wiki.publish({
      key: 'contents-mode-test',
      page: { kind: 'ROLLBACK' },
      title: 'Rollback of acme/app v1.0.0',
      content: (id) => `# ${id}\n\nrolled back\n`,
    });
    assert.equal(ref.id, 'ROLLBACK-1');
    assert.match(githubRepo.files.get('docs/retros/ROLLBACK-1.md')?.text ?? '', /rolled back/);
  });
});
