/**
 * The production topology on one machine (docs/running-in-production.md "A production topology
 * on this machine"), used by `npm run topology` and by test/e2e/topology.test.ts:
 *
 *   - a real Temporal cluster (the server built by `npm run setup:temporal -- --server`, on a
 *     private PostgreSQL, SQL visibility with release-flow's search attributes);
 *   - a real OCI registry (Debian's docker-registry): the artifact store every worker shares,
 *     as in production (the local filesystem registry lives in one process's stateDir);
 *   - release-flow as three processes, each in its own pid, mount and UTS namespace with its own
 *     `stateDir`: one `release-flow serve`, two `release-flow worker`;
 *   - local repositories released main -> tag -> staging -> production through the receiver with
 *     signed webhooks, one worker SIGKILLed while it runs a staging deploy: the other finishes.
 *
 * It returns a summary (runs, outcomes, the worker identities that ran each run's activities,
 * the effects counted as the chaos suite counts them, timings) and the checks that failed.
 */
import '../../test/helpers/runtime';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { lookup } from '../../src/temporal/executables';
import { findServer, serverInstall, missingParts } from '../../src/temporal/server-executables';
import { projectRoot } from '../../src/common/package-info';
import { demoRepositoryConfig, ensureDemoRepository } from '../../src/demo/demo-repository';
import { pipelineWorkflowId } from '../../src/workflows/shared/messages';
import { countEffects, environmentChanges, type Tally } from '../../test/helpers/effects';
import { findBinary, startRegistry, type RunningRegistry } from '../../test/helpers/real-servers';
import { deliver, SECRET } from '../../test/helpers/webhooks';
import { sleep } from './child-process';
import { postgresBinDir } from './postgres';
import { startNamespacedRole, type NamespacedRole } from './namespaced-role';
import { startTemporalCluster, type RunningCluster } from './temporal-cluster';

export interface TopologyOptions {
  /** How many repositories to release (1 or more; `npm run topology` releases 2). */
  repositories?: number;
  /** How long a staging deploy command takes: the window in which a worker is killed. */
  stagingDeploySeconds?: number;
  /** Keep the directory (logs, state, databases) after the run. */
  keep?: boolean;
  onProgress?: (line: string) => void;
  /** Join this cluster instead of starting one (namespace and search attributes registered). */
  temporal?: { address: string; namespace?: string };
}

export interface RunSummary {
  workflowId: string;
  /** How many runs Temporal has with this id (1: never started twice). */
  runs: number;
  status: string;
  outcome: unknown;
  /** Hostnames of the workers whose activities completed in this run. */
  workers: string[];
}

export interface TopologySummary {
  ok: boolean;
  failures: string[];
  dir: string;
  temporal: { address: string; version: string };
  processes: { role: string; hostname: string; stateDir: string; exit?: number | string }[];
  kills: { worker: string; workflowId: string; activity: string; afterSeconds: number }[];
  repositories: {
    name: string;
    runs: RunSummary[];
    effects: Tally;
    duplicates: string[];
    registryTags: { dev: string[]; prod: string[] };
    deploys: Record<string, number>;
  }[];
  seconds: Record<string, number>;
}

export class ServerNotBuilt extends Error {
  constructor(readonly missing: string[]) {
    super(
      `the topology cannot run here, missing: ${missing.join(', ')}. The Temporal server and its SQL tool are built by \`npm run setup:temporal -- --server\` (minutes on 2 cores)`,
    );
    this.name = 'ServerNotBuilt';
  }
}

/** What the topology needs that is not there; empty when it can run. */
export function topologyPrerequisites(): string[] {
  const install = serverInstall(projectRoot);
  const missing =
    missingParts(install).length > 0
      ? [
          `the Temporal server ${install.version} and its SQL tool in ${path.relative(projectRoot, install.home)}`,
        ]
      : [];
  if (Array.isArray(lookup('cli', { root: projectRoot })))
    missing.push('the Temporal CLI (npm run setup:temporal)');
  // Pid and mount namespaces without a user namespace need root (as containers do).
  if (process.getuid?.() !== 0) missing.push('root (unshare --pid --mount-proc)');
  if (!existsSync('/usr/bin/unshare') && !existsSync('/bin/unshare')) missing.push('unshare (util-linux)');
  if (!postgresBinDir()) missing.push('PostgreSQL (apt-get install -y postgresql)');
  if (!findBinary('docker-registry', 'RELEASE_FLOW_REGISTRY_PATH'))
    missing.push('docker-registry (apt-get install -y docker-registry)');
  return missing;
}

/** A deploy that takes a while in staging: a killed worker is caught in the middle of it. */
function deployScript(seconds: number): string {
  return [
    'const { RELEASE_FLOW_ACTION: action, RELEASE_FLOW_ENV: env, RELEASE_FLOW_VERSION: version } = process.env;',
    'console.log(`${action} ${version} to ${env}`);',
    // RELEASE_FLOW_ENV is the environment's key: `staging-<repository>-<hash>`.
    `if (/^staging\\b/.test(env) && action === 'deploy') setTimeout(() => console.log('done'), ${seconds * 1000});`,
    '',
  ].join('\n');
}

const SECRET_VARIABLES = [
  'GITHUB_TOKEN',
  'GITHUB_APP_ID',
  'GITHUB_APP_PRIVATE_KEY',
  'GITHUB_APP_PRIVATE_KEY_PATH',
  'GITHUB_WEBHOOK_SECRET',
  'SLACK_WEBHOOK_URL',
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'PAGERDUTY_ROUTING_KEY',
  'DATADOG_API_KEY',
  'DATADOG_APP_KEY',
];

/** The roles' environment: nothing of ours but what the role needs (docs: "Running in production"). */
function roleEnv(address: string, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of SECRET_VARIABLES) delete env[name];
  for (const name of Object.keys(env))
    if (name.startsWith('TEMPORAL_') || name.startsWith('RELEASE_FLOW_')) delete env[name];
  return { ...env, TEMPORAL_ADDRESS: address, LOG_LEVEL: 'info', ...extra };
}

async function runsOf(client: Client, workflowId: string): Promise<number> {
  let n = 0;
  for await (const _ of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) n++;
  return n;
}

/** Hostnames of the workers whose activity attempts completed in the run. */
async function workersOf(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  const started = new Map<number, string>();
  const completed = new Set<string>();
  for (const e of history.events ?? []) {
    const id = Number(e.eventId);
    if (e.activityTaskStartedEventAttributes?.identity)
      started.set(id, e.activityTaskStartedEventAttributes.identity);
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const who = started.get(Number(done.startedEventId)) ?? done.identity ?? '';
      completed.add(hostOf(who) ?? who);
    }
  }
  return [...completed].sort();
}

/** A failed run's outcome: the failure and its causes, one line each. */
function failedWith(err: unknown): { failed: string } {
  const lines: string[] = [];
  for (let e: unknown = err; e instanceof Error && lines.length < 5; e = e.cause) lines.push(e.message);
  return { failed: lines.join(' <- ') || String(err) };
}

function hostOf(identity: string): string | undefined {
  return /^release-flow@([^:]+):/.exec(identity)?.[1];
}

async function registryTags(registry: RunningRegistry, name: string): Promise<string[]> {
  const res = await fetch(`http://${registry.host}/v2/${name}/tags/list`);
  if (res.status === 404) return [];
  const body = (await res.json()) as { tags?: string[] | null };
  return [...(body.tags ?? [])].sort();
}

async function waitForLog(roles: NamespacedRole[], pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!roles.every((r) => pattern.test(r.log()))) {
    const dead = roles.find((r) => r.child.gone());
    if (dead)
      throw new Error(`${dead.role}@${dead.hostname} exited while starting:\n${dead.log().slice(-3000)}`);
    if (Date.now() > deadline)
      throw new Error(
        `not up within ${timeoutMs / 1000}s:\n${roles.map((r) => `${r.hostname}: ${r.log().slice(-1500)}`).join('\n')}`,
      );
    await sleep(250);
  }
}

export async function runTopology(opts: TopologyOptions = {}): Promise<TopologySummary> {
  const progress = opts.onProgress ?? (() => {});
  const started = Date.now();
  const seconds: Record<string, number> = {};
  const mark = (name: string, since: number) => (seconds[name] = Math.round((Date.now() - since) / 100) / 10);
  const install = findServer(projectRoot);
  const missing = topologyPrerequisites().filter(
    (m) => !(opts.temporal && m.startsWith('the Temporal server')),
  );
  if (missing.length) throw new ServerNotBuilt(missing);
  const cli = lookup('cli', { root: projectRoot });
  if (Array.isArray(cli)) throw new ServerNotBuilt(['the Temporal CLI']);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'rf-topology-'));
  // PostgreSQL runs as its own user and must pass through to its directory.
  chmodSync(dir, 0o711);
  const failures: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) {
      failures.push(what);
      progress(`FAIL ${what}`);
    }
  };
  let cluster: RunningCluster | undefined;
  let registry: RunningRegistry | undefined;
  let connection: Connection | undefined;
  const roles: NamespacedRole[] = [];
  const summary: TopologySummary = {
    ok: false,
    failures,
    dir,
    temporal: { address: '', version: install?.version ?? 'existing cluster' },
    processes: [],
    kills: [],
    repositories: [],
    seconds,
  };
  try {
    let t = Date.now();
    let temporal = {
      address: opts.temporal?.address ?? '',
      namespace: opts.temporal?.namespace ?? 'default',
    };
    if (!opts.temporal) {
      cluster = await startTemporalCluster({
        install: install!,
        cliPath: cli.path,
        dir: path.join(dir, 'cluster'),
        onProgress: progress,
      });
      mark('cluster', t);
      for (const [k, v] of Object.entries(cluster.timings)) seconds[`cluster.${k}`] = v;
      temporal = { address: cluster.address, namespace: cluster.namespace };
      progress(
        `[topology] Temporal ${install!.version} on ${cluster.address}, PostgreSQL on port ${cluster.postgres.port}`,
      );
    }
    summary.temporal.address = temporal.address;
    registry = await startRegistry();

    const count = Math.max(1, opts.repositories ?? 2);
    const repos: { name: string; dir: string; commit: string }[] = [];
    for (let i = 0; i < count; i++) {
      const name = `topology/shop-${String.fromCharCode(97 + i)}`;
      const repo = await ensureDemoRepository(path.join(dir, 'repos', `shop-${String.fromCharCode(97 + i)}`));
      repos.push({ name, dir: repo.path, commit: repo.releases[0]! });
    }
    const deployJs = path.join(dir, 'deploy.js');
    writeFileSync(deployJs, deployScript(opts.stagingDeploySeconds ?? 8));
    const configOf = (stateDir: string) => ({
      stateDir,
      server: { port: 0 },
      integrations: {
        registry: {
          type: 'oci',
          url: `http://${registry!.host}`,
          devRepository: 'release-flow/dev/{artifact}',
          prodRepository: 'release-flow/prod/{artifact}',
        },
      },
      repositories: repos.map((r) => {
        const demo = demoRepositoryConfig(r.dir);
        const deploy = ['node', deployJs];
        return {
          ...demo,
          name: r.name,
          // The demo repository's code is release-flow's own, as in `npm start`: no PR builds.
          pullRequestBuilds: 'none',
          commands: {
            ...demo.commands,
            // Deploys run sandboxed (docs/threat-model.md): the script is given to them as a file.
            deploy: { dev: deploy, staging: deploy, production: deploy, files: [deployJs] },
          },
          health: { window: '5s', sampleInterval: '1s', minRequests: 1 },
          integrations: { registry: 'oci' },
        };
      }),
    });
    const names = ['receiver', 'worker-1', 'worker-2'];
    for (const hostname of names) {
      const stateDir = path.join(dir, hostname, 'state');
      mkdirSync(stateDir, { recursive: true });
      const configFile = path.join(dir, hostname, 'release-flow.json');
      writeFileSync(configFile, JSON.stringify(configOf(stateDir), null, 2));
      const role = hostname === 'receiver' ? 'serve' : 'worker';
      roles.push(
        startNamespacedRole({
          role,
          hostname,
          configFile,
          logFile: path.join(dir, hostname, `${role}.log`),
          env: roleEnv(temporal.address, role === 'serve' ? { GITHUB_WEBHOOK_SECRET: SECRET } : {}),
        }),
      );
      summary.processes.push({ role, hostname, stateDir });
    }
    const [receiver, ...workers] = roles as [NamespacedRole, NamespacedRole, NamespacedRole];
    t = Date.now();
    progress('[topology] starting release-flow serve and two workers, each in its own namespaces ...');
    await waitForLog(workers, /"msg":"worker running"/, 300_000);
    await waitForLog([receiver], /"msg":"HTTP server listening"/, 300_000);
    mark('roles', t);
    const url = /"url":"(http:\/\/[^"]+)","msg":"HTTP server listening"/.exec(receiver.log())?.[1];
    if (!url) throw new Error(`the receiver did not say where it listens:\n${receiver.log().slice(-2000)}`);
    connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection, namespace: temporal.namespace });

    // main: one signed push per repository, delivered twice (GitHub redelivers): one run each.
    t = Date.now();
    progress(`[topology] pushing main of ${repos.map((r) => r.name).join(', ')} to the receiver at ${url}`);
    for (const r of repos) {
      const push = JSON.stringify({
        ref: 'refs/heads/main',
        after: r.commit,
        repository: { full_name: r.name },
      });
      const answers = [
        await deliver(url, { event: 'push', body: push }),
        await deliver(url, { event: 'push', body: push }),
      ];
      check(
        answers.every((a) => a.status < 300),
        `${r.name}: main push answered ${answers.map((a) => a.status).join(', ')}`,
      );
    }
    const mainOutcomes = await Promise.all(
      repos.map(async (r) => {
        const handle = client.workflow.getHandle(pipelineWorkflowId('main-commit', r.name, r.commit));
        return (await handle.result().catch(failedWith)) as { tag?: string };
      }),
    );
    mark('main', t);
    repos.forEach((r, i) =>
      check(
        mainOutcomes[i]?.tag === 'v1.0.0',
        `${r.name}: main-commit tagged ${JSON.stringify(mainOutcomes[i])}`,
      ),
    );

    if (failures.length)
      throw new Error(`main-commit did not release (logs and state kept in ${dir}): ${failures.join('; ')}`);

    // tag -> staging -> production; the worker running the first staging deploy is killed.
    t = Date.now();
    progress('[topology] pushing the tags; a worker is SIGKILLed during the first staging deploy');
    for (const r of repos) {
      const push = JSON.stringify({
        ref: 'refs/tags/v1.0.0',
        after: r.commit,
        head_commit: { id: r.commit },
        repository: { full_name: r.name },
      });
      const answer = await deliver(url, { event: 'push', body: push });
      check(
        answer.status < 300,
        `${r.name}: tag push answered ${answer.status} ${JSON.stringify(answer.body)}`,
      );
    }
    const tagIds = repos.map((r) => pipelineWorkflowId('tag', r.name, 'v1.0.0'));
    const killAt = Date.now();
    let killed: NamespacedRole | undefined;
    let closed = 0;
    while (!killed && closed < tagIds.length && Date.now() - killAt < 300_000) {
      closed = 0;
      for (const id of tagIds) {
        const d = await client.workflow
          .getHandle(id)
          .describe()
          .catch(() => undefined);
        // Ended before a deploy was seen: no kill this time (the check below says so).
        if (d && d.status.name !== 'RUNNING') closed++;
        const deploying = d?.raw.pendingActivities?.find(
          (a) => a.activityType?.name === 'deployVersion' && a.lastWorkerIdentity,
        );
        const host = hostOf(deploying?.lastWorkerIdentity ?? '');
        const victim = workers.find((w) => w.hostname === host);
        if (victim && !killed) {
          progress(
            `[topology] SIGKILL ${victim.hostname} (pid ${victim.initPid()}) while it deploys ${id} to staging`,
          );
          await victim.kill();
          killed = victim;
          summary.kills.push({
            worker: victim.hostname,
            workflowId: id,
            activity: 'deployVersion',
            afterSeconds: Math.round((Date.now() - killAt) / 100) / 10,
          });
        }
      }
      if (!killed) await sleep(200);
    }
    check(killed !== undefined, 'a staging deploy was seen running on one of the workers');
    const tagOutcomes = await Promise.all(
      tagIds.map(
        async (id) =>
          (await client.workflow.getHandle(id).result().catch(failedWith)) as {
            productionWorkflowId?: string;
          },
      ),
    );
    const productionIds = tagOutcomes.map((o) => o.productionWorkflowId);
    const productionOutcomes = (await Promise.all(
      productionIds.map(async (id) =>
        id
          ? ((await client.workflow.getHandle(id).result().catch(failedWith)) as { state?: string })
          : { failed: 'no hand-off' },
      ),
    )) as { state?: string; failed?: string }[];
    mark('tag-and-production', t);

    for (const [i, r] of repos.entries()) {
      const ids = [pipelineWorkflowId('main-commit', r.name, r.commit), tagIds[i]!, productionIds[i]].filter(
        (id): id is string => Boolean(id),
      );
      const runs: RunSummary[] = [];
      for (const id of ids) {
        const handle = client.workflow.getHandle(id);
        const d = await handle.describe();
        runs.push({
          workflowId: id,
          runs: await runsOf(client, id),
          status: d.status.name,
          outcome: await handle.result().catch(failedWith),
          workers: await workersOf(handle),
        });
      }
      check(
        productionOutcomes[i]?.state === 'healthy',
        `${r.name}: production ${JSON.stringify(productionOutcomes[i])}`,
      );
      for (const run of runs) check(run.runs === 1, `${run.workflowId}: ${run.runs} runs`);
      const workerDirs = summary.processes.filter((p) => p.role === 'worker').map((p) => p.stateDir);
      const { tally, duplicates } = await countEffects({ name: r.name, dir: r.dir }, workerDirs);
      const artifact = r.name.toLowerCase();
      const tags = {
        dev: await registryTags(registry, `release-flow/dev/${artifact}`),
        prod: await registryTags(registry, `release-flow/prod/${artifact}`),
      };
      const deploys: Record<string, number> = {};
      for (const [k, n] of environmentChanges(r.name, workerDirs)) {
        const [file, action] = k.split(' ') as [string, string];
        const env = file.split('-')[0]!;
        deploys[`${env} ${action}`] = (deploys[`${env} ${action}`] ?? 0) + n;
      }
      check(tally.tags === 1, `${r.name}: ${tally.tags} release tags`);
      check(duplicates.length === 0, `${r.name}: effects more than once: ${duplicates.join('; ')}`);
      for (const env of ['dev', 'staging', 'production'])
        check(
          deploys[`${env} deploy`] === 1,
          `${r.name}: ${env} deployed ${deploys[`${env} deploy`] ?? 0} times`,
        );
      check(
        tags.prod.includes('v1.0.0'),
        `${r.name}: v1.0.0 in the production registry (${tags.prod.join(', ')})`,
      );
      summary.repositories.push({
        name: r.name,
        runs,
        effects: tally,
        duplicates,
        registryTags: tags,
        deploys,
      });
    }
    if (killed) {
      const survivor = workers.find((w) => w !== killed)!;
      const killedRun = summary.repositories
        .flatMap((r) => r.runs)
        .find((run) => run.workflowId === summary.kills[0]?.workflowId);
      check(
        killedRun?.workers.includes(survivor.hostname) === true,
        `the surviving worker ${survivor.hostname} finished ${summary.kills[0]?.workflowId} (workers: ${killedRun?.workers.join(', ')})`,
      );
    }
  } finally {
    const t = Date.now();
    await connection?.close().catch(() => {});
    for (const role of roles.reverse()) {
      await role.stop();
      const p = summary.processes.find((x) => x.hostname === role.hostname);
      const exit = await role.child.exited;
      // unshare answers 1 for a child killed by a signal.
      if (p) p.exit = summary.kills.some((k) => k.worker === role.hostname) ? `killed (${exit})` : exit;
    }
    await registry?.stop().catch(() => {});
    await cluster?.stop();
    mark('stop', t);
    mark('total', started);
    summary.ok = failures.length === 0;
    if (!opts.keep && summary.ok) rmSync(dir, { recursive: true, force: true });
  }
  return summary;
}
