import '../helpers/runtime';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { environmentKey } from '../../src/activities/deploy';
import { StatusJournal } from '../../src/adapters/local/status-journal';
import { startApp, type RunningApp } from '../../src/app';
import { withChosenPorts } from '../helpers/ports';
import { cli } from '../helpers/cli';
import { validateConfig } from '../../src/config/load';
import { createLogger } from '../../src/common/logging';
import { pipelineWorkflowId, statusQuery } from '../../src/workflows/shared/messages';
import type { PullRequestGateVerdict } from '../../src/workflows/pr-gate/messages';
import { git } from '../helpers/git-fixture';

/** A small app whose build, tests and integration tests are node scripts. */
function makeRepository(dir: string): void {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  writeFileSync(
    path.join(dir, 'build.js'),
    "require('fs').mkdirSync('dist',{recursive:true});require('fs').writeFileSync('dist/app.txt','app '+Date.now());\n",
  );
  writeFileSync(path.join(dir, 'test.js'), "process.exit(require('fs').existsSync('build.js') ? 0 : 1);\n");
  writeFileSync(
    path.join(dir, 'it.js'),
    'if (!process.env.RELEASE_FLOW_ENV || !process.env.RELEASE_FLOW_VERSION) process.exit(3);\n',
  );
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'feat(APP-1): the first feature');
  writeFileSync(path.join(dir, 'README'), 'fix\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'fix(APP-2): a fix');
}

describe('pipelines end to end on the dev server (real git repository, local adapters, CLI)', () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'rf-pipelines-'));
  const repoDir = path.join(base, 'app');
  const stateDir = path.join(base, 'state');
  const configFile = path.join(base, 'release-flow.json');
  // A deploy tool's view, printed to the deploy log (a deploy runs sandboxed, away from this
  // test's files): the action, the environment (a namespace, a stage) and the version.
  const deployCommand = [
    'node',
    '-e',
    "console.log('deployed: ' + [process.env.RELEASE_FLOW_ACTION, process.env.RELEASE_FLOW_ENV, process.env.RELEASE_FLOW_VERSION].join(' '))",
  ];
  let app: RunningApp;
  const deployed = (envs = ['dev', 'staging']) =>
    envs.flatMap((env) => {
      const log = path.join(stateDir, 'environments', `${environmentKey('acme/app', env)}.deploy.log`);
      return existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter((l) => l.startsWith('deployed: '))
            .map((l) => l.slice('deployed: '.length))
        : [];
    });

  before(async () => {
    makeRepository(repoDir);
    const raw = {
      stateDir,
      server: { port: 0 },
      temporal: {
        taskQueue: 'e2e-pipelines',
        devServer: {
          // 0: the dev server picks free ports and picks again if one is taken before it binds.
          port: 0,
          uiPort: 0,
          dbFile: path.join(stateDir, 'temporal.db'),
        },
      },
      repositories: [
        {
          name: 'acme/app',
          path: repoDir,
          artifact: 'dist/app.txt',
          commands: {
            build: [['node', 'build.js']],
            unitTests: [['node', 'test.js']],
            integrationTests: [['node', 'it.js']],
            deploy: { dev: deployCommand, staging: deployCommand },
          },
        },
      ],
    };
    app = await startApp({ config: validateConfig(raw, {}), logger: createLogger('silent'), env: {} });
    // The CLI finds the embedded server by its configured port: the ones it was given.
    writeFileSync(configFile, JSON.stringify(withChosenPorts(raw, app)));
  });
  after(async () => {
    await app?.stop();
  });

  it('main-commit builds, tests, deploys dev and tags v1.0.0; a second start finds the first run', async () => {
    const sha = git(repoDir, 'rev-parse', 'HEAD');
    const first = await cli([
      'start',
      'main-commit',
      '--repo',
      'acme/app',
      '--sha',
      'HEAD',
      '--config',
      configFile,
      '--json',
    ]);
    assert.equal(first.code, 0, first.err);
    const started = JSON.parse(first.out) as { workflowId: string; started: boolean };
    assert.deepEqual(started, {
      workflowId: pipelineWorkflowId('main-commit', 'acme/app', sha),
      started: true,
    });
    const handle = app.client.workflow.getHandle(started.workflowId);
    const outcome = (await handle.result()) as { state: string; tag: string; tagWorkflowId?: string };
    assert.equal(outcome.state, 'released');
    assert.equal(outcome.tag, 'v1.0.0');
    assert.deepEqual(
      deployed(['dev']),
      [`deploy dev ${sha}`],
      'the deploy command is told the environment by name',
    );
    // A local repository sends no tag push: the run that made the tag started its pipeline.
    assert.equal(outcome.tagWorkflowId, pipelineWorkflowId('tag', 'acme/app', 'v1.0.0'));
    assert.equal(git(repoDir, 'rev-parse', 'v1.0.0^{commit}'), sha, 'the release tag marks the commit');
    const again = await cli([
      'start',
      'main-commit',
      '--repo',
      'acme/app',
      '--sha',
      sha,
      '--config',
      configFile,
    ]);
    assert.match(again.out, /^already started: /);
    const status = await handle.query(statusQuery);
    assert.equal(status.environments.dev, sha);
    // A local repository's commit statuses go to the journal under stateDir.
    const journal = new StatusJournal({ file: path.join(stateDir, 'statuses.jsonl') });
    const main = (await journal.entries()).filter((e) => e.sha === sha && e.context === 'release-flow/main');
    assert.deepEqual(
      main.map((e) => [e.repository, e.state, e.description]),
      [
        [
          'acme/app',
          'pending',
          'main-commit pipeline: build, unit tests, dev deploy, integration tests, release tag',
        ],
        ['acme/app', 'success', 'released v1.0.0 (minor)'],
      ],
    );
    assert.match(
      main[1]!.targetUrl ?? '',
      /\/workflows\/main-commit%3Aacme%2Fapp%3A[0-9a-f]{40}\/[0-9a-f-]+$/,
    );
  });

  it('the tag pipeline deploys staging under the lock, marks it good and hands off to production', async () => {
    // Started by the main-commit pipeline already: a start by hand finds that run.
    const run = await cli([
      'start',
      'tag',
      '--repo',
      'acme/app',
      '--tag',
      'v1.0.0',
      '--config',
      configFile,
      '--json',
    ]);
    assert.equal(run.code, 0, run.err);
    const { workflowId, started } = JSON.parse(run.out) as { workflowId: string; started: boolean };
    assert.equal(started, false, 'the main-commit pipeline started it, once');
    const outcome = (await app.client.workflow.getHandle(workflowId).result()) as {
      state: string;
      productionWorkflowId: string;
    };
    assert.equal(outcome.state, 'promoted');
    assert.equal(outcome.productionWorkflowId, pipelineWorkflowId('production', 'acme/app', 'v1.0.0'));
    const listed = await cli(['status', '--json', '--config', configFile]);
    assert.equal(listed.code, 0, listed.err);
    const releases = JSON.parse(listed.out) as {
      repo: string;
      version: string;
      environments: { staging: string };
    }[];
    const release = releases.find((r) => r.repo === 'acme/app' && r.version === 'v1.0.0');
    assert.ok(release, listed.out);
    assert.equal(release.environments.staging, 'v1.0.0');
    const journal = new StatusJournal({ file: path.join(stateDir, 'statuses.jsonl') });
    const staging = await journal.latest(
      'acme/app',
      git(repoDir, 'rev-parse', 'v1.0.0^{commit}'),
      'release-flow/staging',
    );
    assert.equal(staging?.state, 'success');
    assert.equal(staging?.description, 'v1.0.0 passed staging; handed to production');
    assert.ok(deployed().includes('deploy staging v1.0.0'), deployed().join('; '));
  });

  it('a late push of an older main commit never deploys dev over the newer one: it ends superseded', async () => {
    const newer = git(repoDir, 'rev-parse', 'HEAD');
    const older = git(repoDir, 'rev-parse', 'HEAD~1');
    const before = deployed(['dev']);
    const run = await cli([
      'start',
      'main-commit',
      '--repo',
      'acme/app',
      '--sha',
      older,
      '--config',
      configFile,
      '--json',
    ]);
    assert.equal(run.code, 0, run.err);
    const { workflowId } = JSON.parse(run.out) as { workflowId: string };
    const handle = app.client.workflow.getHandle(workflowId);
    assert.deepEqual(await handle.result(), {
      state: 'superseded',
      tag: null,
      bump: null,
      lastTag: null,
      supersededBy: newer,
    });
    const status = await handle.query(statusQuery);
    assert.equal(status.state, 'superseded');
    assert.equal(status.supersededBy, newer);
    assert.ok(!status.steps.some((s) => s.name === 'build' || s.name === 'deploy dev'));
    assert.deepEqual(deployed(['dev']), before, 'dev was not deployed');
    const journal = new StatusJournal({ file: path.join(stateDir, 'statuses.jsonl') });
    const main = await journal.latest('acme/app', older, 'release-flow/main');
    assert.equal(main?.state, 'success');
    assert.equal(
      main?.description,
      `superseded: dev runs the newer ${newer.slice(0, 12)}; not deployed or tagged`,
    );
  });

  it('a tag that is not a release tag is refused by the CLI with the pattern', async () => {
    const r = await cli(['start', 'tag', '--repo', 'acme/app', '--tag', 'nightly', '--config', configFile]);
    assert.equal(r.code, 2);
    assert.match(r.err, /NOT_A_RELEASE_TAG/);
  });

  it('the PR gate of a local repository: policy and build statuses in the journal, red once main moves', async () => {
    git(repoDir, 'checkout', '-q', '-b', 'ana/APP-7');
    writeFileSync(path.join(repoDir, 'widget.txt'), 'widget\n');
    git(repoDir, 'add', '.');
    git(repoDir, 'commit', '-q', '-m', 'feat(APP-7): a widget');
    const head = git(repoDir, 'rev-parse', 'HEAD');
    git(repoDir, 'checkout', '-q', 'main');

    const gate = async (branch: string) => {
      const r = await cli([
        'start',
        'pr-gate',
        '--repo',
        'acme/app',
        '--branch',
        branch,
        '--config',
        configFile,
        '--json',
      ]);
      assert.equal(r.code, 0, r.err);
      const { workflowId } = JSON.parse(r.out) as { workflowId: string };
      return {
        workflowId,
        verdict: (await app.client.workflow.getHandle(workflowId).result()) as PullRequestGateVerdict,
      };
    };
    const first = await gate('ana/APP-7');
    assert.equal(first.workflowId, `pr-gate:acme/app#1:${head}`, 'the first local pull request is #1');
    assert.equal(first.verdict.verdict.ok, true, JSON.stringify(first.verdict.verdict));
    assert.equal(first.verdict.build?.state, 'passed');
    const journal = new StatusJournal({ file: path.join(stateDir, 'statuses.jsonl') });
    assert.equal((await journal.latest('acme/app', head, 'release-flow/policy'))?.state, 'success');
    const build = await journal.latest('acme/app', head, 'release-flow/build');
    assert.equal(build?.state, 'success');
    const log = await fetch(build!.targetUrl!);
    assert.equal(log.status, 200, `the build status links to its log: ${build!.targetUrl}`);

    git(repoDir, 'checkout', '-q', '-b', 'wip');
    writeFileSync(path.join(repoDir, 'wip.txt'), 'wip\n');
    git(repoDir, 'add', '.');
    git(repoDir, 'commit', '-q', '-m', 'wip');
    git(repoDir, 'checkout', '-q', 'main');
    const second = await gate('wip');
    assert.match(second.workflowId, /^pr-gate:acme\/app#2:/);
    assert.equal(second.verdict.status.state, 'failure');
    assert.match(second.verdict.status.description, /wip/);

    writeFileSync(path.join(repoDir, 'other.txt'), 'other\n');
    git(repoDir, 'add', '.');
    git(repoDir, 'commit', '-q', '-m', 'fix(APP-8): elsewhere');
    const r = await cli(['start', 'pr-recheck', '--repo', 'acme/app', '--config', configFile, '--json']);
    assert.equal(r.code, 0, r.err);
    const { workflowId } = JSON.parse(r.out) as { workflowId: string };
    assert.equal(workflowId, `pr-recheck:acme/app:${git(repoDir, 'rev-parse', 'HEAD')}`);
    const rechecked = (await app.client.workflow.getHandle(workflowId).result()) as PullRequestGateVerdict[];
    assert.deepEqual(
      rechecked.map((v) => [v.number, v.status.state]),
      [
        [1, 'failure'],
        [2, 'failure'],
      ],
    );
    const policy = await journal.latest('acme/app', head, 'release-flow/policy');
    assert.equal(policy?.state, 'failure');
    assert.match(policy?.description ?? '', /not rebased on the current main/);
  });
});
