import '../helpers/runtime';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { demoRepositoryConfig, ensureDemoRepository } from '../../src/demo/demo-repository';
import { projectRoot } from '../../src/common/package-info';
import { startMainCommit, startTagRelease } from '../../src/starter';
import type { UpgradeStatus } from '../../src/temporal/worker-deployments';
import { statusQuery, type PipelineStatus } from '../../src/workflows/shared/messages';
import { promoteSignal, tagStatusQuery } from '../../src/workflows/tag/messages';
import { waitFor } from '../helpers/ports';
import { devServerEnv } from '../helpers/temporal-env';

const run = promisify(execFile);
const DEPLOYMENT = 'rf-upgrade-e2e';

/**
 * Build B: a copy of this checkout whose pipelines start with a timer that build A never
 * scheduled. A release of A replayed on B would fail with a nondeterminism error, so one that
 * finishes proves it stayed on A.
 */
function buildB(dir: string): string {
  for (const entry of ['src', 'bin', 'package.json', 'tsconfig.json']) {
    cpSync(path.join(projectRoot, entry), path.join(dir, entry), { recursive: true });
  }
  symlinkSync(path.join(projectRoot, 'node_modules'), path.join(dir, 'node_modules'));
  for (const [file, fn] of [
    ['main-commit/main-commit-workflow.ts', 'mainCommitWorkflow'],
    ['production/production-release-workflow.ts', 'productionReleaseWorkflow'],
  ] as const) {
    const full = path.join(dir, 'src', 'workflows', file);
    const source = readFileSync(full, 'utf8');
    const changed = source
      .replace(/^/, "import { sleep as buildBSleep } from '@temporalio/workflow';\n")
      .replace(new RegExp(`(export async function ${fn}\\([^)]*\\)[^{]*\\{)`), '$1\n  await buildBSleep(1);');
    assert.notEqual(changed, source);
    writeFileSync(full, changed);
  }
  return dir;
}

describe('upgrading release-flow while a release runs (Worker Versioning)', () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'rf-upgrade-'));
  const stateDir = path.join(base, 'state');
  const configFile = path.join(base, 'release-flow.json');
  const repository = 'acme/upgrade';
  const taskQueue = 'e2e-upgrade';
  const children: ChildProcess[] = [];
  let env: TestWorkflowEnvironment;
  let releases: string[];
  let roleEnv: NodeJS.ProcessEnv;

  function worker(root: string, buildId: string, setCurrent: string): ChildProcess & { output: string } {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'release-flow.js'), 'worker'], {
      cwd: root,
      env: {
        ...roleEnv,
        RELEASE_FLOW_FROM_SOURCE: '1',
        RELEASE_FLOW_BUILD_ID: buildId,
        RELEASE_FLOW_SET_CURRENT: setCurrent,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }) as ChildProcess & { output: string };
    child.output = '';
    child.stdout!.on('data', (d) => (child.output += String(d)));
    child.stderr!.on('data', (d) => (child.output += String(d)));
    children.push(child);
    return child;
  }

  async function cli(...args: string[]): Promise<string> {
    const { stdout } = await run(
      process.execPath,
      [path.join(projectRoot, 'bin', 'release-flow.js'), ...args],
      {
        cwd: projectRoot,
        env: roleEnv,
      },
    );
    return stdout;
  }

  async function upgradeStatus(): Promise<UpgradeStatus> {
    return JSON.parse(await cli('upgrade', 'status', '--json', '--deployment', DEPLOYMENT)) as UpgradeStatus;
  }

  async function buildIdOf(workflowId: string): Promise<string | undefined> {
    const d = await env.client.workflow.getHandle(workflowId).describe();
    return d.raw.workflowExecutionInfo?.versioningInfo?.deploymentVersion?.buildId ?? undefined;
  }

  before(async () => {
    env = await devServerEnv();
    const repo = await ensureDemoRepository(path.join(base, 'repo'));
    releases = repo.releases;
    writeFileSync(
      configFile,
      JSON.stringify({
        stateDir,
        temporal: { taskQueue },
        repositories: [
          {
            ...demoRepositoryConfig(repo.path),
            name: repository,
            health: { window: '30s', sampleInterval: '1s', minRequests: 1 },
            // The demo repository is local, so each main-commit starts its tag pipeline: the
            // second release must not reach production (superseding the first) before it is promoted.
            requirePromote: true,
          },
        ],
      }),
    );
    roleEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: env.address,
      RELEASE_FLOW_CONFIG: configFile,
      RELEASE_FLOW_DEPLOYMENT: DEPLOYMENT,
      LOG_LEVEL: 'info',
    };
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await env?.teardown();
  });

  it('a release started on build A finishes on A, new releases run on B, and A drains and stops', async () => {
    const a = worker(projectRoot, 'A', 'if-none');
    const b = worker(buildB(mkdtempSync(path.join(os.tmpdir(), 'rf-build-b-'))), 'B', 'never');
    const registered = await waitFor(
      async () => {
        const s = await upgradeStatus().catch(() => undefined);
        return s?.current === 'A' && s.versions.some((v) => v.buildId === 'B');
      },
      120_000,
      500,
    );
    assert.equal(registered, true, `A never became current beside B:\n${a.output}\n${b.output}`);

    const opts = { taskQueue, searchAttributes: true };
    const first = releases[0]!;
    const mainA = await startMainCommit(env.client, { repository, commit: first }, opts);
    const tagged = (await env.client.workflow.getHandle(mainA.workflowId).result()) as { tag: string };
    const tag = await startTagRelease(env.client, { repository, tag: tagged.tag, commit: first }, opts);
    const tagHandle = env.client.workflow.getHandle(tag.workflowId);
    const awaitingPromotion = await waitFor(
      async () => (await tagHandle.query(tagStatusQuery)).awaitingPromotion === true,
      60_000,
      250,
    );
    assert.equal(awaitingPromotion, true, 'the first release passed staging');
    await tagHandle.signal(promoteSignal, { by: 'upgrade-e2e' });
    const { productionWorkflowId } = (await tagHandle.result()) as {
      productionWorkflowId: string;
    };
    const production = env.client.workflow.getHandle(productionWorkflowId);
    const watching = await waitFor(
      async () =>
        ((await production.query(statusQuery).catch(() => undefined)) as PipelineStatus | undefined)?.step ===
        'watch production health',
      60_000,
      250,
    );
    assert.equal(watching, true, 'production of build A is watching its health');
    assert.equal(await buildIdOf(productionWorkflowId), 'A');

    // Deploy B: promote it while A's release is still watching production.
    assert.match(await cli('upgrade', 'promote', 'B', '--deployment', DEPLOYMENT), /B is current/);
    const during = await upgradeStatus();
    assert.equal(during.current, 'B');
    const oldDuring = during.versions.find((v) => v.buildId === 'A')!;
    assert.ok(oldDuring.running >= 1, JSON.stringify(during));
    assert.equal(oldDuring.mayStop, false, 'A still has a release: it must keep running');
    const text = await cli('upgrade', 'status', '--deployment', DEPLOYMENT);
    const info = (await production.describe()).raw.workflowExecutionInfo;
    assert.match(
      text,
      /A +[1-9]\d* running +keep/,
      `${text}\nproduction: ${info?.status} ${JSON.stringify(info?.versioningInfo)} ${JSON.stringify(info?.searchAttributes?.indexedFields?.BuildIds?.data)}`,
    );

    const second = releases[1]!;
    const mainB = await startMainCommit(env.client, { repository, commit: second }, opts);
    await env.client.workflow.getHandle(mainB.workflowId).result();
    assert.equal(await buildIdOf(mainB.workflowId), 'B', 'a new release runs on B');
    // B's code really differs: its main-commit run's first command is a timer A's never started.
    const firstCommandIsTimer = async (workflowId: string) => {
      const events = (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      const completed = events.findIndex((e) => e.workflowTaskCompletedEventAttributes);
      return Boolean(events[completed + 1]?.timerStartedEventAttributes);
    };
    assert.equal(await firstCommandIsTimer(mainA.workflowId), false);
    assert.equal(await firstCommandIsTimer(mainB.workflowId), true);

    const outcome = (await production.result()) as { state: string };
    assert.equal(
      outcome.state,
      'healthy',
      'the release of A finished on A (B would have failed to replay it)',
    );
    assert.equal(await buildIdOf(productionWorkflowId), 'A');

    const drained = await waitFor(
      async () => (await upgradeStatus()).versions.find((v) => v.buildId === 'A')?.mayStop === true,
      30_000,
      500,
    );
    assert.equal(drained, true, 'A drains once its release is done');
    assert.match(await cli('upgrade', 'status', '--deployment', DEPLOYMENT), /A +0 running +may stop/);
    const stopped = new Promise((r) => a.once('exit', r));
    a.kill('SIGTERM');
    assert.equal(await stopped, 0, `A stopped cleanly:\n${a.output}`);
    assert.doesNotMatch(b.output, /nondeterminism|DeterminismViolation/i);
  });
});
