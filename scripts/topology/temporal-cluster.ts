/**
 * A real Temporal cluster on this machine: a private PostgreSQL cluster, its two databases set
 * up with the server's own `temporal-sql-tool` (the way the admin-tools image does), and the
 * Temporal server (all four services in one process) started from a config generated from the
 * module's `development-postgres12.yaml`: PostgreSQL for both the default and the SQL visibility
 * store, which supports custom search attributes without Elasticsearch. Then the namespace and
 * release-flow's search attributes are registered with the Temporal CLI, as on any cluster
 * (docs/running-in-production.md "Joining an existing Temporal cluster"). `stop()` ends the
 * server, then PostgreSQL; both also get a signal from the kernel if this process dies first.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { cliSearchAttributeFlags } from '../../src/temporal/search-attributes';
import type { ServerInstall } from '../../src/temporal/server-executables';
import { candidatePort, runToEnd, sleep, spawnChild, type Child } from './child-process';
import { startPostgres, type RunningPostgres } from './postgres';

export interface ClusterOptions {
  install: ServerInstall;
  /** The Temporal CLI (namespace and search attributes). */
  cliPath: string;
  /** Everything of the cluster lives here; its parents must let the `postgres` user pass. */
  dir: string;
  namespace?: string;
  env?: NodeJS.ProcessEnv;
  onProgress?: (line: string) => void;
  startTimeoutMs?: number;
}

export interface RunningCluster {
  /** The frontend's gRPC address, `127.0.0.1:<port>`: what TEMPORAL_ADDRESS is set to. */
  address: string;
  /** The frontend's HTTP API. */
  httpAddress: string;
  namespace: string;
  postgres: RunningPostgres;
  server: Child;
  /** Seconds each part took to come up. */
  timings: Record<string, number>;
  stop(): Promise<void>;
}

interface ServerPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
}

function choosePorts(): ServerPorts {
  const used = new Set<number>();
  const pick = () => {
    let p = candidatePort();
    while (used.has(p)) p = candidatePort();
    used.add(p);
    return p;
  };
  return {
    frontend: pick(),
    frontendHttp: pick(),
    frontendMembership: pick(),
    history: pick(),
    historyMembership: pick(),
    matching: pick(),
    matchingMembership: pick(),
    worker: pick(),
    workerMembership: pick(),
  };
}

/** The server's config: development-postgres12.yaml's shape, with our ports and database. */
export function serverConfig(pg: RunningPostgres, ports: ServerPorts, dynamicConfigFile: string): string {
  const store = (database: string, maxConns: number) => [
    `      sql:`,
    `        pluginName: "postgres12"`,
    `        databaseName: "${database}"`,
    `        connectAddr: "${pg.host}:${pg.port}"`,
    `        connectProtocol: "tcp"`,
    `        user: "${pg.user}"`,
    `        password: "${pg.password}"`,
    `        maxConns: ${maxConns}`,
    `        maxIdleConns: ${maxConns}`,
    `        maxConnLifetime: "1h"`,
  ];
  const service = (name: string, grpc: number, membership: number, http?: number) => [
    `  ${name}:`,
    `    rpc:`,
    `      grpcPort: ${grpc}`,
    `      membershipPort: ${membership}`,
    `      bindOnLocalHost: true`,
    ...(http ? [`      httpPort: ${http}`] : []),
  ];
  return [
    'log:',
    '  stdout: true',
    '  level: warn',
    'persistence:',
    '  defaultStore: postgres-default',
    '  visibilityStore: postgres-visibility',
    '  numHistoryShards: 4',
    '  datastores:',
    '    postgres-default:',
    ...store('temporal', 20),
    '    postgres-visibility:',
    ...store('temporal_visibility', 4),
    'global:',
    '  membership:',
    '    maxJoinDuration: 30s',
    '    broadcastAddress: "127.0.0.1"',
    'services:',
    ...service('frontend', ports.frontend, ports.frontendMembership, ports.frontendHttp),
    ...service('matching', ports.matching, ports.matchingMembership),
    ...service('history', ports.history, ports.historyMembership),
    ...service('worker', ports.worker, ports.workerMembership),
    'clusterMetadata:',
    '  enableGlobalNamespace: false',
    '  failoverVersionIncrement: 10',
    '  masterClusterName: "active"',
    '  currentClusterName: "active"',
    '  clusterInformation:',
    '    active:',
    '      enabled: true',
    '      initialFailoverVersion: 1',
    '      rpcName: "frontend"',
    `      rpcAddress: "127.0.0.1:${ports.frontend}"`,
    `      httpAddress: "127.0.0.1:${ports.frontendHttp}"`,
    'dcRedirectionPolicy:',
    '  policy: "noop"',
    'dynamicConfigClient:',
    `  filepath: "${dynamicConfigFile}"`,
    '  pollInterval: "10s"',
    '',
  ].join('\n');
}

/**
 * The module's development-sql.yaml settings release-flow relies on: long ids, Worker
 * Versioning, updates. Search attributes are read fresh so a name registered a moment ago can
 * be used at once (the setup's own check; the upstream file marks it for development).
 */
export const DYNAMIC_CONFIG = [
  'limit.maxIDLength:',
  '  - value: 255',
  'system.forceSearchAttributesCacheRefreshOnRead:',
  '  - value: true',
  'frontend.enableUpdateWorkflowExecution:',
  '  - value: true',
  'frontend.enableUpdateWorkflowExecutionAsyncAccepted:',
  '  - value: true',
  'frontend.workerVersioningDataAPIs:',
  '  - value: true',
  'frontend.workerVersioningWorkflowAPIs:',
  '  - value: true',
  'frontend.workerVersioningRuleAPIs:',
  '  - value: true',
  'system.enableDeploymentVersions:',
  '  - value: true',
  'system.enableDeployments:',
  '  - value: true',
  '',
].join('\n');

async function portOpen(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => (sock.destroy(), resolve(true)));
    sock.once('error', () => resolve(false));
  });
}

/** Both databases, created and brought to the newest schema; safe to run again. */
async function setupSchema(
  install: ServerInstall,
  pg: RunningPostgres,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const sqlEnv = {
    ...env,
    SQL_HOST: pg.host,
    SQL_PORT: String(pg.port),
    SQL_USER: pg.user,
    SQL_PASSWORD: pg.password,
  };
  const tool = (db: string, ...args: string[]) =>
    runToEnd([install.sqlTool, '--plugin', 'postgres12', '--db', db, ...args], { env: sqlEnv });
  await Promise.all(
    [
      ['temporal', 'temporal'],
      ['temporal_visibility', 'visibility'],
    ].map(async ([db, schema]) => {
      await tool(db!, 'create-database');
      await tool(db!, 'setup-schema', '-v', '0.0');
      await tool(db!, 'update-schema', '-d', path.join(install.postgresSchema, schema!, 'versioned'));
    }),
  );
}

/** `Name=Type` pairs of the dev server's flags, by type (the CLI's spelling). */
function searchAttributesByType(): Map<string, string[]> {
  const flags = cliSearchAttributeFlags();
  const byType = new Map<string, string[]>();
  for (let i = 1; i < flags.length; i += 2) {
    const [name, type] = flags[i]!.split('=') as [string, string];
    byType.set(type, [...(byType.get(type) ?? []), name]);
  }
  return byType;
}

async function retry<T>(what: string, fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`${what} did not succeed in ${timeoutMs / 1000}s: ${String(err).slice(0, 2000)}`);
      await sleep(500);
    }
  }
}

const PORT_ATTEMPTS = 5;

export async function startTemporalCluster(opts: ClusterOptions): Promise<RunningCluster> {
  const env = opts.env ?? process.env;
  const namespace = opts.namespace ?? 'default';
  const progress = opts.onProgress ?? (() => {});
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    const value = await fn();
    timings[name] = Math.round((Date.now() - t) / 100) / 10;
    return value;
  };
  mkdirSync(opts.dir, { recursive: true });
  progress('[cluster] starting PostgreSQL ...');
  const postgres = await timed('postgres', () =>
    startPostgres({ dir: path.join(opts.dir, 'postgres'), env }),
  );
  let server: Child | undefined;
  try {
    progress(`[cluster] PostgreSQL on ${postgres.host}:${postgres.port}; setting up the schema ...`);
    await timed('schema', () => setupSchema(opts.install, postgres, env));
    const dynamicConfig = path.join(opts.dir, 'dynamicconfig.yaml');
    writeFileSync(dynamicConfig, DYNAMIC_CONFIG);
    const logFile = path.join(opts.dir, 'temporal-server.log');
    let ports!: ServerPorts;
    await timed('server', async () => {
      for (let attempt = 1; ; attempt++) {
        ports = choosePorts();
        const taken = [];
        for (const p of Object.values(ports)) if (await portOpen(p)) taken.push(p);
        if (taken.length) continue;
        const configFile = path.join(opts.dir, 'temporal-server.yaml');
        writeFileSync(configFile, serverConfig(postgres, ports, dynamicConfig));
        progress(
          `[cluster] starting the Temporal server ${opts.install.version} on 127.0.0.1:${ports.frontend} ...`,
        );
        const child = spawnChild(
          'temporal-server',
          [opts.install.server, '--config-file', configFile, '--allow-no-auth', 'start'],
          logFile,
          { env, cwd: opts.dir },
        );
        server = child;
        const offset = child.log().length;
        const up = await waitServing(child, ports.frontend, opts, env);
        if (up) return;
        await child.stop('SIGTERM', 10_000);
        const out = child.log().slice(offset);
        if (/address already in use/i.test(out) && attempt < PORT_ATTEMPTS) continue;
        throw new Error(
          `the Temporal server did not become healthy; its log ${logFile}:\n${out.slice(-4000)}`,
        );
      }
    });
    const address = `127.0.0.1:${ports.frontend}`;
    const cli = (...args: string[]) => runToEnd([opts.cliPath, ...args, '--address', address], { env });
    progress(`[cluster] registering namespace ${namespace} and the search attributes ...`);
    await timed('namespace', async () => {
      await retry(
        `namespace ${namespace}`,
        () =>
          cli('operator', 'namespace', 'describe', '--namespace', namespace).catch(() =>
            cli('operator', 'namespace', 'create', '--namespace', namespace, '--retention', '72h'),
          ),
        60_000,
      );
      // One name per call: given several `--name`s, the CLI (v1.5.1) against this server
      // registered only the first.
      const wanted = [...searchAttributesByType()].flatMap(([type, names]) =>
        names.map((name) => ({ name, type })),
      );
      for (const { name, type } of wanted) {
        await retry(
          `search attribute ${name}`,
          () =>
            cli(
              'operator',
              'search-attribute',
              'create',
              '--namespace',
              namespace,
              '--name',
              name,
              '--type',
              type,
            ),
          60_000,
        );
      }
      await retry(
        'the search attributes listed',
        async () => {
          const listed = await cli('operator', 'search-attribute', 'list', '--namespace', namespace);
          const absent = wanted.filter(({ name }) => !new RegExp(`^\\s*${name}\\s`, 'm').test(listed));
          if (absent.length) throw new Error(`not listed yet: ${absent.map((a) => a.name).join(', ')}`);
        },
        60_000,
      );
      // The namespace is served once the frontend's namespace cache has it: a list in it answers.
      await retry(
        `a list in namespace ${namespace}`,
        () => cli('workflow', 'list', '--namespace', namespace, '--limit', '1'),
        60_000,
      );
    });
    const running = server!;
    return {
      address,
      httpAddress: `127.0.0.1:${ports.frontendHttp}`,
      namespace,
      postgres,
      server: running,
      timings,
      stop: async () => {
        await running.stop('SIGTERM', 20_000);
        await postgres.stop();
      },
    };
  } catch (err) {
    await server?.stop('SIGKILL');
    await postgres.stop();
    throw err;
  }
}

/** Until `operator cluster health` answers SERVING from our own (still running) server. */
async function waitServing(
  child: Child,
  port: number,
  opts: ClusterOptions,
  env: NodeJS.ProcessEnv,
): Promise<boolean> {
  const deadline = Date.now() + (opts.startTimeoutMs ?? 180_000);
  while (!child.gone() && Date.now() < deadline) {
    if (await portOpen(port)) {
      const health = await runToEnd(
        [opts.cliPath, 'operator', 'cluster', 'health', '--address', `127.0.0.1:${port}`],
        { env, timeoutMs: 15_000 },
      ).catch(() => '');
      if (/SERVING/.test(health) && !child.gone()) return true;
    }
    await sleep(500);
  }
  return false;
}
