import '../helpers/runtime';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { JournalEntry } from '../../src/adapters/local/alert-journal';
import { readJsonLines } from '../../src/adapters/local/durable-files';
import { LocalMetricSource } from '../../src/adapters/local/local-metric-source';
import { pullRequestRegistryPath } from '../../src/adapters/local/local-pull-requests';
import { noSandbox } from '../../src/adapters/local/step-sandbox';
import { startApp, type RunningApp } from '../../src/app';
import { validateConfig } from '../../src/config/load';
import { demoReceiverPath } from '../../src/demo/demo-receiver';
import { createLogger } from '../../src/common/logging';
import { hotfixWorkflowId } from '../../src/workflows/hotfix/messages';
import { pipelineWorkflowId } from '../../src/workflows/shared/messages';
import { anyPipelineStatusQuery as statusQuery } from '../../src/workflows/pipeline-status';
import { WEBHOOK_PATH } from '../../src/http/webhooks/webhook-routes';
import { cli } from '../helpers/cli';
import { git } from '../helpers/git-fixture';
import { processAlive, waitFor, withChosenPorts } from '../helpers/ports';

const SECRET = 'emergency-e2e-secret';

/**
 * A small app whose integration test, in staging, holds while `hold` names the version under
 * test: it writes its pid to `pidFile` and sleeps, like a long suite.
 */
function makeRepository(dir: string, hold: string, pidFile: string): void {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  writeFileSync(
    path.join(dir, 'build.js'),
    "require('fs').mkdirSync('dist',{recursive:true});require('fs').writeFileSync('dist/app.txt','app '+Date.now());\n",
  );
  writeFileSync(path.join(dir, 'test.js'), "process.exit(require('fs').existsSync('build.js') ? 0 : 1);\n");
  writeFileSync(
    path.join(dir, 'it.js'),
    [
      "const fs = require('fs');",
      'if (!process.env.RELEASE_FLOW_ENV || !process.env.RELEASE_FLOW_VERSION) process.exit(3);',
      `const hold = ${JSON.stringify(hold)};`,
      "const held = fs.existsSync(hold) && fs.readFileSync(hold, 'utf8').trim() === process.env.RELEASE_FLOW_VERSION;",
      "if (process.env.RELEASE_FLOW_ENV === 'staging' && held) {",
      `  fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));`,
      '  setTimeout(() => {}, 600000);',
      '}',
      '',
    ].join('\n'),
  );
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'feat(APP-1): the first feature');
}

function commit(dir: string, file: string, message: string): string {
  writeFileSync(path.join(dir, file), `${message}\n`);
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

interface Repo {
  name: string;
  dir: string;
  hold: string;
  pidFile: string;
}

describe('emergency and rollback with two repositories sharing staging (dev server, real worker, local adapters)', () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'rf-emergency2-'));
  const stateDir = path.join(base, 'state');
  const configFile = path.join(base, 'release-flow.json');
  const repo = (name: string): Repo => {
    const slug = name.replace('/', '-');
    return {
      name,
      dir: path.join(base, slug),
      hold: path.join(base, `${slug}.hold`),
      pidFile: path.join(base, `${slug}.pid`),
    };
  };
  const A = repo('acme/a');
  const B = repo('acme/b');
  const C = repo('acme/c');
  const D = repo('acme/d');
  const E = repo('acme/e');
  const F = repo('acme/f');
  const apm = new LocalMetricSource({ dir: path.join(stateDir, 'apm') });
  let app: RunningApp;

  const run = async (argv: string[]) => await cli([...argv, '--config', configFile]);
  const result = async <T>(workflowId: string): Promise<T> =>
    (await app.client.workflow.getHandle(workflowId).result()) as T;
  const status = async (workflowId: string) =>
    await app.client.workflow.getHandle(workflowId).query(statusQuery);

  /** main-commit of the head, then its tag: returns the version. */
  async function mainCommit(r: Repo): Promise<string> {
    const sha = git(r.dir, 'rev-parse', 'HEAD');
    const started = await run(['start', 'main-commit', '--repo', r.name, '--sha', sha, '--json']);
    assert.equal(started.code, 0, started.err);
    const outcome = await result<{ state: string; tag: string }>(
      pipelineWorkflowId('main-commit', r.name, sha),
    );
    assert.equal(outcome.state, 'released', JSON.stringify(outcome));
    return outcome.tag;
  }

  async function startTag(r: Repo, version: string): Promise<string> {
    const started = await run(['start', 'tag', '--repo', r.name, '--tag', version, '--json']);
    assert.equal(started.code, 0, started.err);
    return (JSON.parse(started.out) as { workflowId: string }).workflowId;
  }

  /** Through staging to production: returns the production workflow id. */
  async function release(r: Repo, version: string): Promise<string> {
    const outcome = await result<{ state: string; productionWorkflowId: string }>(await startTag(r, version));
    assert.equal(outcome.state, 'promoted', JSON.stringify(outcome));
    return outcome.productionWorkflowId;
  }

  async function environments() {
    const listed = await run(['environments', '--json']);
    assert.equal(listed.code, 0, listed.err);
    return JSON.parse(listed.out) as {
      repository: string;
      env: string;
      running: string | null;
      lastGood: string | null;
      bad: string[];
    }[];
  }

  async function environment(r: Repo, env: string) {
    return (await environments()).find((e) => e.repository === r.name && e.env === env);
  }

  async function lockMode(): Promise<string> {
    const listed = await run(['lock', 'status', 'staging', '--json']);
    assert.equal(listed.code, 0, listed.err);
    return (JSON.parse(listed.out) as { mode: { mode: string } }).mode.mode;
  }

  /**
   * `holder`'s next commit is released as `version`; the tag pipeline its main-commit starts (a
   * local repository sends no tag push) holds staging in its integration test. Resolves with the
   * tag workflow id and the test's pid once it runs.
   */
  async function holdStaging(holder: Repo, version: string): Promise<{ workflowId: string; pid: number }> {
    writeFileSync(holder.hold, version);
    commit(holder.dir, `${version}.txt`, 'feat(APP-2): a second feature');
    assert.equal(await mainCommit(holder), version);
    const workflowId = await startTag(holder, version);
    const running = await waitFor(() => existsSync(holder.pidFile), 60_000, 200);
    assert.ok(running, `${holder.name} ${version}'s integration test started in staging`);
    const pid = Number(readFileSync(holder.pidFile, 'utf8'));
    assert.ok(processAlive(pid));
    return { workflowId, pid };
  }

  /** The holder's test process is killed within seconds of the decision, and its run ends preempted. */
  async function assertPreempted(
    holder: Repo,
    held: { workflowId: string; pid: number },
    version: string,
    taker: Repo,
    decision: string,
  ) {
    const decidedAt = Date.now();
    const dead = await waitFor(() => !processAlive(held.pid), 15_000, 100);
    assert.ok(dead, `the integration test (pid ${held.pid}) was killed within 15 s`);
    assert.ok(Date.now() - decidedAt < 15_000);
    rmSync(holder.hold, { force: true });
    const failed = await result(held.workflowId).then(
      () => undefined,
      (err: unknown) => err as { cause?: { type?: string; message?: string } },
    );
    assert.equal(failed?.cause?.type, 'Preempted', String(failed?.cause?.message));
    const s = await status(held.workflowId);
    assert.equal(s.state, 'preempted');
    assert.equal(s.failure?.type, 'Preempted');
    assert.match(s.failure?.message ?? '', new RegExp(`${taker.name}.*${decision}`));
    const staging = await waitFor(
      async () => {
        const e = await environment(holder, 'staging');
        return e?.running === version ? e : undefined;
      },
      30_000,
      250,
    );
    assert.ok(staging, `${holder.name}'s staging went back to its last good version ${version}`);
    const alerts = await readJsonLines<JournalEntry>(path.join(stateDir, 'alerts.jsonl'));
    const alert = alerts.find(
      (a) => a.kind === 'pipeline-failed' && a.repository === holder.name && /preempted/.test(a.title),
    );
    assert.ok(alert, `${holder.name}'s team was alerted: ${JSON.stringify(alerts.map((a) => a.title))}`);
    assert.equal(alert.team, 'development');
    assert.match(alert.title, new RegExp(`staging taken by ${taker.name}`));
    assert.match(`${alert.title}\n${alert.text}`, new RegExp(decision));
  }

  async function breach(r: Repo, productionWorkflowId: string): Promise<void> {
    const awaiting = await waitFor(
      async () => (await status(productionWorkflowId).catch(() => undefined))?.awaitingDecision === true,
      60_000,
      250,
    );
    assert.ok(awaiting, `${r.name}'s production watch breached and awaits a decision`);
  }

  before(async () => {
    for (const r of [A, B, C, D, E, F]) makeRepository(r.dir, r.hold, r.pidFile);
    const repository = (r: Repo) => ({
      name: r.name,
      path: r.dir,
      artifact: 'dist/app.txt',
      commands: {
        build: [['node', 'build.js']],
        unitTests: [['node', 'test.js']],
        integrationTests: [['node', 'it.js']],
      },
      // Short watches: a breach within a few seconds, a healthy hotfix within a quarter minute.
      health: { window: '12s', sampleInterval: '1s', minRequests: 5, consecutiveBadSamples: 2 },
    });
    const raw = {
      stateDir,
      server: { port: 0 },
      temporal: {
        taskQueue: 'e2e-emergency2',
        devServer: { port: 0, uiPort: 0, dbFile: path.join(stateDir, 'temporal.db') },
      },
      repositories: [A, B, C, D, E, F].map(repository),
    };
    app = await startApp({
      config: validateConfig(raw, {}),
      logger: createLogger('silent'),
      env: {},
      webhookSecret: SECRET,
      // The integration tests read and write files of this test, outside their checkout.
      sandbox: noSandbox,
    });
    writeFileSync(configFile, JSON.stringify(withChosenPorts(raw, app)));
    // Where `release-flow demo hotfix` delivers its push: this app's receiver.
    mkdirSync(path.dirname(demoReceiverPath(stateDir)), { recursive: true });
    writeFileSync(
      demoReceiverPath(stateDir),
      JSON.stringify({ url: `${app.http!.url}${WEBHOOK_PATH}`, secret: SECRET }),
    );
  });
  after(async () => {
    await app?.stop();
  });

  it('emergency on A preempts B in staging; the HOT-1 fix reaches production, staging returns to normal, B proceeds', async () => {
    // A: v1.0.0 in production, and failing there.
    await apm.setErrorRate({ service: A.name, env: 'production' }, 0.5);
    assert.equal(await mainCommit(A), 'v1.0.0');
    const production = await release(A, 'v1.0.0');
    await breach(A, production);

    // B: v1.0.0 good in staging, then v1.1.0 holding staging.
    assert.equal(await mainCommit(B), 'v1.0.0');
    await result(await release(B, 'v1.0.0'));
    const held = await holdStaging(B, 'v1.1.0');
    const decided = await run(['decide', A.name, 'v1.0.0', 'emergency', '--by', 'ana', '--reason', 'errors']);
    assert.equal(decided.code, 0, decided.err);
    assert.match(decided.out, /^accepted: emergency by ana/);
    await assertPreempted(B, held, 'v1.0.0', A, 'emergency');

    const ended = await result<{ state: string; hotfix: { id: string; branch: string } }>(production);
    assert.equal(ended.state, 'hotfix-pending');
    assert.equal(ended.hotfix.id, 'HOT-1');
    assert.equal(await lockMode(), 'hotfixOnly');

    // B's next release waits for staging, saying why; nothing is cancelled.
    commit(B.dir, 'b3.txt', 'fix(APP-3): a third change');
    assert.equal(await mainCommit(B), 'v1.1.1');
    const next = await startTag(B, 'v1.1.1');
    const waiting = await waitFor(
      async () => {
        const listed = await run(['status', '--json']);
        const entry = (
          JSON.parse(listed.out) as { workflowId: string; waitingFor?: { mode: string; incident: string } }[]
        ).find((e) => e.workflowId === next);
        return entry?.waitingFor;
      },
      30_000,
      250,
    );
    assert.deepEqual(waiting && { mode: waiting.mode, incident: waiting.incident }, {
      mode: 'hotfixOnly',
      incident: 'HOT-1',
    });

    // The fix: healthy traffic again, a fix(HOT-1) commit on HOT-1, its push signed to the receiver.
    const pushed = await run(['demo', 'hotfix', '--repository', A.name]);
    assert.equal(pushed.code, 0, pushed.err);
    const fix = git(A.dir, 'rev-parse', 'refs/heads/HOT-1');
    assert.match(git(A.dir, 'log', '-1', '--format=%s', fix), /^fix\(HOT-1\): /);
    assert.match(pushed.out, new RegExp(`201 started -> ${hotfixWorkflowId(A.name, 'HOT-1', fix)}`));
    const hotfix = await result<{ state: string; version: string; tagWorkflowId: string }>(
      hotfixWorkflowId(A.name, 'HOT-1', fix),
    );
    assert.deepEqual([hotfix.state, hotfix.version], ['released', 'v1.0.1'], 'the next free patch');
    const staged = await result<{ state: string; productionWorkflowId: string }>(hotfix.tagWorkflowId);
    assert.equal(staged.state, 'promoted', 'the hotfix went through staging in hotfix-only mode');
    assert.equal(staged.productionWorkflowId, pipelineWorkflowId('production', A.name, 'v1.0.1'));
    const watched = await result<{ state: string }>(staged.productionWorkflowId);
    assert.equal(watched.state, 'healthy');
    assert.equal((await environment(A, 'production'))?.running, 'v1.0.1');
    assert.equal(await lockMode(), 'normal');

    const proceeded = await result<{ state: string }>(next);
    assert.equal(
      proceeded.state,
      'promoted',
      "B's waiting release went through staging once normal mode returned",
    );

    const incident = await run(['hotfix', 'status', 'HOT-1', '--json']);
    assert.equal(incident.code, 0, incident.err);
    const record = JSON.parse(incident.out) as {
      state: string;
      brokenVersion: string;
      hotfixVersions: string[];
      pullRequest: { number: number; url: string } | null;
    };
    assert.equal(record.state, 'closed');
    assert.equal(record.brokenVersion, 'v1.0.0');
    assert.deepEqual(record.hotfixVersions, ['v1.0.1']);
    assert.ok(record.pullRequest, 'the pull request back into main');
    const registry = JSON.parse(
      readFileSync(pullRequestRegistryPath(path.join(stateDir, 'pull-requests'), A.name), 'utf8'),
    ) as { pullRequests: { number: number; headRef: string; baseRef: string }[] };
    const pr = registry.pullRequests.find((p) => p.headRef === 'HOT-1');
    assert.deepEqual(pr && [pr.number, pr.baseRef], [record.pullRequest.number, 'main']);
  });

  it('rollback on C preempts D in staging; C is back on the previous version everywhere, the rolled-back version bad', async () => {
    assert.equal(await mainCommit(C), 'v1.0.0');
    const first = await release(C, 'v1.0.0');
    commit(C.dir, 'c2.txt', 'feat(APP-2): a second feature');
    assert.equal(await mainCommit(C), 'v1.1.0');
    const production = await release(C, 'v1.1.0');
    // v1.0.0 stops watching when v1.1.0 replaces it: only then does production start failing.
    await result(first);
    await apm.setErrorRate({ service: C.name, env: 'production' }, 0.5);
    await breach(C, production);

    assert.equal(await mainCommit(D), 'v1.0.0');
    await result(await release(D, 'v1.0.0'));
    const held = await holdStaging(D, 'v1.1.0');
    const decided = await run(['decide', C.name, 'v1.1.0', 'rollback', '--by', 'ana', '--reason', 'errors']);
    assert.equal(decided.code, 0, decided.err);
    assert.match(decided.out, /^accepted: rollback by ana/);
    await assertPreempted(D, held, 'v1.0.0', C, 'rollback');

    const ended = await result<{ state: string }>(production);
    assert.equal(ended.state, 'rolled-back');
    const envs = (await environments()).filter((e) => e.repository === C.name);
    assert.deepEqual(
      envs.map((e) => [e.env, e.bad]),
      [
        ['dev', ['v1.1.0']],
        ['staging', ['v1.1.0']],
        ['production', ['v1.1.0']],
      ],
    );
    assert.equal(envs.find((e) => e.env === 'production')?.running, 'v1.0.0');
    assert.equal(
      envs.find((e) => e.env === 'staging')?.running,
      'v1.0.0',
      'staging back to the version before',
    );
    assert.equal(await lockMode(), 'normal');
  });
  it("two incidents on two repositories: E's healthy hotfix leaves staging hotfix-only for F's open incident", async () => {
    // Both reach production (staging is normal yet) and break there; then both are declared.
    const broken = async (r: Repo) => {
      assert.equal(await mainCommit(r), 'v1.0.0');
      await apm.setErrorRate({ service: r.name, env: 'production' }, 0.5);
      const production = await release(r, 'v1.0.0');
      await breach(r, production);
      return production;
    };
    const declare = async (r: Repo, production: string) => {
      const decided = await run([
        'decide',
        r.name,
        'v1.0.0',
        'emergency',
        '--by',
        'ana',
        '--reason',
        'errors',
      ]);
      assert.equal(decided.code, 0, decided.err);
      const ended = await result<{ state: string; hotfix: { id: string } }>(production);
      assert.equal(ended.state, 'hotfix-pending');
      return ended.hotfix.id;
    };
    const productionE = await broken(E);
    const productionF = await broken(F);
    const lock = async () => {
      const listed = await run(['lock', 'status', 'staging', '--json']);
      assert.equal(listed.code, 0, listed.err);
      return JSON.parse(listed.out) as {
        mode: { mode: string };
        incidents: { id: string; repository: string }[];
      };
    };
    const first = await declare(E, productionE);
    const second = await declare(F, productionF);
    assert.notEqual(first, second, 'each emergency gets its own number');
    assert.deepEqual(
      (await lock()).incidents.map((h) => [h.id, h.repository]),
      [
        [first, E.name],
        [second, F.name],
      ],
      'lock status names both incidents holding staging',
    );
    const text = await run(['lock', 'status', 'staging']);
    assert.match(
      text.out,
      new RegExp(`held hotfix-only by: ${first} \\(acme/e, since [^)]+\\), ${second} \\(acme/f`),
    );

    // E's fix goes all the way to a healthy production.
    const pushed = await run(['demo', 'hotfix', '--repository', E.name]);
    assert.equal(pushed.code, 0, pushed.err);
    const fix = git(E.dir, 'rev-parse', `refs/heads/${first}`);
    const hotfix = await result<{ state: string; tagWorkflowId: string }>(
      hotfixWorkflowId(E.name, first, fix),
    );
    assert.equal(hotfix.state, 'released');
    const staged = await result<{ state: string; productionWorkflowId: string }>(hotfix.tagWorkflowId);
    assert.equal((await result<{ state: string }>(staged.productionWorkflowId)).state, 'healthy');

    const after = await lock();
    assert.equal(
      after.mode.mode,
      'hotfixOnly',
      `${second} of ${F.name} is still open: staging stays hotfix-only`,
    );
    assert.deepEqual(
      after.incidents.map((h) => h.id),
      [second],
    );
    const listed = JSON.parse((await run(['hotfix', 'status', '--json'])).out) as {
      id: string;
      state: string;
    }[];
    assert.deepEqual(
      [listed.find((i) => i.id === first)?.state, listed.find((i) => i.id === second)?.state],
      ['closed', 'open'],
    );

    // A person ends it by hand: every hold ends.
    const normal = await run(['lock', 'mode', 'staging', 'normal', '--by', 'ana', '--reason', 'test over']);
    assert.equal(normal.code, 0, normal.err);
    assert.deepEqual(await lock().then((l) => [l.mode.mode, l.incidents]), ['normal', []]);
  });
});
