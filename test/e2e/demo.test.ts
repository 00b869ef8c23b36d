import '../helpers/runtime';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startApp, type RunningApp } from '../../src/app';
import { cli } from '../helpers/cli';
import { validateConfig } from '../../src/config/load';
import {
  DEMO_REPOSITORY,
  demoRepositoryConfig,
  ensureDemoRepository,
  type DemoPullRequest,
} from '../../src/demo/demo-repository';
import { StatusJournal } from '../../src/adapters/local/status-journal';
import { runDemo } from '../../src/demo/run-demo';
import { createLogger } from '../../src/common/logging';
import { anyPipelineStatusQuery as statusQuery } from '../../src/workflows/pipeline-status';
import { WEBHOOK_PATH } from '../../src/http/webhooks/webhook-routes';
import { waitFor, withChosenPorts } from '../helpers/ports';

describe('the npm start demo on the dev server', () => {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rf-demo-'));
  const configFile = path.join(stateDir, 'cli.json');
  let app: RunningApp;
  let releases: string[];
  let pullRequest: DemoPullRequest;

  before(async () => {
    const repo = await ensureDemoRepository(path.join(stateDir, 'demo', 'shop'));
    releases = repo.releases;
    pullRequest = repo.pullRequest;
    // The demo's settings, with samples every second so the test sees a breach quickly.
    const demoRepo = {
      ...demoRepositoryConfig(repo.path),
      health: { window: '5m', sampleInterval: '1s', minRequests: 5 },
    };
    const raw = {
      stateDir,
      server: { port: 0 },
      temporal: {
        taskQueue: 'e2e-demo',
        devServer: {
          // 0: the dev server picks free ports and picks again if one is taken before it binds.
          port: 0,
          uiPort: 0,
          dbFile: path.join(stateDir, 'temporal.db'),
        },
      },
      repositories: [demoRepo],
    };
    app = await startApp({
      config: validateConfig(raw, {}),
      logger: createLogger('silent'),
      // As many developers' shells hold them: the demo still works, its steps in the sandbox.
      env: { GITHUB_TOKEN: 'ghp_newcomerShellToken0123456789abcdef', GITHUB_WEBHOOK_SECRET: 'shell-secret' },
      webhookSecret: 'demo-secret',
    });
    // The CLI finds the embedded server by its configured port: the ones it was given.
    writeFileSync(configFile, JSON.stringify({ ...withChosenPorts(raw, app), repositories: [] }));
  });
  after(async () => {
    await app?.stop();
  });

  it('signed deliveries gate a pull request, then take the demo through every stage to a watched production release', async () => {
    const lines: string[] = [];
    const result = await runDemo({
      client: app.client,
      namespace: 'default',
      receiverUrl: `${app.http!.url}${WEBHOOK_PATH}`,
      secret: 'demo-secret',
      releases,
      pullRequest,
      print: (l) => lines.push(l),
    });
    assert.equal(result.version, 'v1.1.0');
    assert.match(lines.join('\n'), /PR gate of #1 ana\/SHOP-5 started/);
    assert.match(lines.join('\n'), /release-flow\/policy: success/);
    assert.match(lines.join('\n'), /release-flow\/build: success \(Passed in/);
    const journal = new StatusJournal({ file: path.join(stateDir, 'statuses.jsonl') });
    const build = await journal.latest(DEMO_REPOSITORY, pullRequest.head, 'release-flow/build');
    assert.equal(build?.state, 'success');
    assert.match(lines.join('\n'), /main-commit pipeline started/);
    // A local repository sends no tag push: its main-commit pipeline started the tag pipeline.
    assert.match(lines.join('\n'), /tag pipeline started by the main-commit pipeline/);
    assert.match(lines.join('\n'), /npx release-flow demo break/);
    const status = await app.client.workflow.getHandle(result.productionWorkflowId).query(statusQuery);
    assert.equal(status.environments.production, 'v1.1.0');
  });

  it('a second run of the tour resumes: every delivery finds its run already started', async () => {
    const lines: string[] = [];
    const result = await runDemo({
      client: app.client,
      namespace: 'default',
      receiverUrl: `${app.http!.url}${WEBHOOK_PATH}`,
      secret: 'demo-secret',
      releases,
      print: (l) => lines.push(l),
    });
    assert.equal(result.version, 'v1.1.0');
    assert.match(lines.join('\n'), /already/);
  });

  it('demo break makes production breach; decide rollback through the CLI is accepted and ends the release', async () => {
    const broke = await cli(['demo', 'break', '--config', configFile]);
    assert.equal(broke.code, 0, broke.err);
    assert.match(
      broke.out,
      /the production watch of demo\/shop v1\.1\.0 sees it within a few samples \(a sample every 1 s\)/,
    );
    const handle = app.client.workflow.getHandle(`production:${DEMO_REPOSITORY}:v1.1.0`);
    const awaiting = await waitFor(
      // The page is sent just after the decision starts being awaited: wait for both.
      async () => {
        const s = await handle.query(statusQuery);
        return s.awaitingDecision === true && Boolean(s.pages?.length);
      },
      60_000,
      500,
    );
    assert.equal(awaiting, true, 'the watch breached and a decision is awaited');
    assert.ok((await handle.query(statusQuery)).pages?.length, 'the development team was paged');
    const decided = await cli([
      'decide',
      DEMO_REPOSITORY,
      'v1.1.0',
      'rollback',
      '--by',
      'newcomer',
      '--reason',
      'demo',
      '--config',
      configFile,
    ]);
    assert.equal(decided.code, 0, decided.err);
    assert.match(decided.out, /^accepted: rollback by newcomer/);
    await handle.result();
    const ended = await handle.query(statusQuery);
    assert.equal(ended.state, 'rolled-back');
    assert.equal(ended.decisions?.[0]?.by, 'newcomer');
    const listed = await cli(['status', '--json', '--config', configFile]);
    const releasesNow = JSON.parse(listed.out) as { version: string; environments: { production: string } }[];
    assert.equal(
      releasesNow[0]?.environments.production,
      'v1.0.0',
      'production is back on the previous version',
    );
    const first = await app.client.workflow.getHandle(`production:${DEMO_REPOSITORY}:v1.0.0`).result();
    assert.equal(
      (first as { state: string }).state,
      'superseded',
      'v1.0.0 stopped watching when v1.1.0 replaced it',
    );
    const late = await cli([
      'decide',
      DEMO_REPOSITORY,
      'v1.1.0',
      'emergency',
      '--by',
      'newcomer',
      '--config',
      configFile,
    ]);
    assert.equal(late.code, 1);
    assert.match(late.out, /^rejected: .*has ended/);
    await cli(['demo', 'heal', '--config', configFile]);
  });

  it('after the watch has ended, demo break says no watch sees it; demo hotfix asks for an emergency first', async () => {
    const broke = await cli(['demo', 'break', '--config', configFile]);
    assert.equal(broke.code, 0, broke.err);
    assert.doesNotMatch(broke.out, /within a few samples/);
    assert.match(broke.out, /no production watch is running to see it: release a version/);
    await cli(['demo', 'heal', '--config', configFile]);
    const hotfix = await cli(['demo', 'hotfix', '--config', configFile]);
    assert.equal(hotfix.code, 2, hotfix.out);
    assert.equal(hotfix.err.split('\n').length, 1, hotfix.err);
    assert.match(
      hotfix.err,
      /NO_OPEN_INCIDENT: .*\(fix: declare an emergency first: release-flow decide demo\/shop v1\.0\.0 emergency --by you\)/,
    );
  });
});
