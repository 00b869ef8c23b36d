import '../helpers/runtime';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { LocalMetricSource } from '../../src/adapters/local/local-metric-source';
import { demoRepositoryConfig, ensureDemoRepository } from '../../src/demo/demo-repository';
import { projectRoot } from '../../src/common/package-info';
import { startMainCommit, startTagRelease } from '../../src/starter';
import {
  anyPipelineStatusQuery as statusQuery,
  type AnyPipelineStatus as PipelineStatus,
} from '../../src/workflows/pipeline-status';
import { emergencySignal } from '../../src/workflows/production/messages';
import { waitFor } from '../helpers/ports';
import { devServerEnv } from '../helpers/temporal-env';

/**
 * The worker is a separate process, killed with SIGKILL at several points of a release and
 * started again; the release completes and nothing is done twice.
 */
describe('a release survives SIGKILL of its worker at several steps, emergency included', () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'rf-restart-'));
  const stateDir = path.join(base, 'state');
  const configFile = path.join(base, 'release-flow.json');
  const repository = 'acme/restart';
  let env: TestWorkflowEnvironment;
  let worker: ChildProcess | undefined;
  let releases: string[];
  let repoDir: string;
  const taskQueue = 'e2e-restart';

  function startWorker(): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src', 'worker.ts')], {
      cwd: projectRoot,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: env.address,
        RELEASE_FLOW_CONFIG: configFile,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    worker = child;
    return child;
  }

  async function kill(): Promise<void> {
    const child = worker!;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async function status(workflowId: string): Promise<PipelineStatus | undefined> {
    return await env.client.workflow
      .getHandle(workflowId)
      .query(statusQuery)
      .catch(() => undefined);
  }

  before(async () => {
    env = await devServerEnv();
    const repo = await ensureDemoRepository(path.join(base, 'repo'));
    repoDir = repo.path;
    releases = repo.releases;
    const demo = demoRepositoryConfig(repoDir);
    writeFileSync(
      configFile,
      JSON.stringify({
        stateDir,
        temporal: { taskQueue },
        repositories: [
          {
            ...demo,
            name: repository,
            health: { window: '30s', sampleInterval: '1s', minRequests: 1 },
            escalation: { realertAfter: '1h', escalateAfter: '2h' },
          },
        ],
      }),
    );
    startWorker();
  });
  after(async () => {
    if (worker && worker.exitCode === null) await kill();
    await env?.teardown();
  });

  it('completes main-commit, tag and production, then carries out an emergency, each effect once', async () => {
    const commit = releases[0]!;
    const opts = { taskQueue, searchAttributes: true };
    const main = await startMainCommit(env.client, { repository, commit }, opts);
    // Kill while the pipeline runs (between or inside steps), then start the worker again.
    await waitFor(async () => ((await status(main.workflowId))?.steps.length ?? 0) >= 2, 30_000, 100);
    await kill();
    startWorker();
    const outcome = (await env.client.workflow.getHandle(main.workflowId).result()) as { tag: string };
    assert.equal(outcome.tag, 'v1.0.0');

    const tag = await startTagRelease(env.client, { repository, tag: 'v1.0.0', commit }, opts);
    const tagOutcome = (await env.client.workflow.getHandle(tag.workflowId).result()) as {
      productionWorkflowId: string;
    };
    const production = env.client.workflow.getHandle(tagOutcome.productionWorkflowId);
    // Kill during the health watch (timers between samples), then break production.
    await waitFor(
      async () => (await status(production.workflowId))?.step === 'watch production health',
      30_000,
      200,
    );
    await kill();
    startWorker();
    await new LocalMetricSource({ dir: path.join(stateDir, 'apm') }).setErrorRate('production', 0.5);
    await waitFor(async () => (await status(production.workflowId))?.awaitingDecision === true, 60_000, 250);
    // Kill while a decision is awaited; the signal arrives while no worker runs.
    await kill();
    await production.signal(emergencySignal, { by: 'oncall', reason: 'restart test' });
    startWorker();
    const ended = (await production.result()) as { state: string; hotfix: { id: string; branch: string } };
    assert.equal(ended.state, 'hotfix-pending');

    // Exactly once: the release tag, the dev upload, each deploy, the ticket, the page, the branch.
    assert.deepEqual(git('tag', '--list', 'v*'), ['v1.0.0']);
    assert.deepEqual(
      git('branch', '--list', 'HOT-*').map((b) => b.replace(/^[* ]+/, '')),
      [ended.hotfix.branch],
    );
    const tickets = readdirSync(path.join(stateDir, 'tickets')).filter((f) => f.endsWith('.md'));
    assert.deepEqual(tickets, [`${ended.hotfix.id}.md`]);
    const pages = readdirSync(path.join(stateDir, 'wiki')).filter((f) => f.endsWith('.md'));
    assert.deepEqual(pages, [`${ended.hotfix.id}.md`]);
    const alerts = readFileSync(path.join(stateDir, 'alerts.jsonl'), 'utf8').trim().split('\n');
    const keys = alerts.map((l) => (JSON.parse(l) as { key: string }).key);
    assert.equal(new Set(keys).size, keys.length, 'no alert was sent twice');
    const history = (name: string) => {
      const file = readdirSync(path.join(stateDir, 'environments')).find(
        (f) => f.startsWith(`${name}-`) && f.endsWith('.json'),
      );
      assert.ok(file, `state of ${name}`);
      return JSON.parse(readFileSync(path.join(stateDir, 'environments', file), 'utf8')) as {
        history?: { action: string; version: string }[];
      };
    };
    const deploys = (name: string) => (history(name).history ?? []).filter((h) => h.action === 'deploy');
    assert.equal(deploys('dev').length, 1, 'dev deployed once');
    assert.equal(deploys('production').length, 1, 'production deployed once');
    assert.ok(existsSync(path.join(stateDir, 'registry')));
  });

  function git(...args: string[]): string[] {
    return execFileSync('git', args, { cwd: repoDir, encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  }
});
