/**
 * Real servers from Debian packages for integration tests: Prometheus scraping a metrics
 * service the test controls, and the distribution registry. Both bind port 0 and report the
 * port they got in their log, so no free-port race with other tests. Binaries are found like
 * the Temporal executables: an env var, then PATH, then /usr/bin.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export function findBinary(
  name: string,
  envVar: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (env[envVar]) return env[envVar];
  for (const dir of [...(env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/sbin']) {
    if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/** Starts `argv`, resolving with the address a log line reports (`pattern`'s first group). */
async function startLogged(
  argv: string[],
  pattern: RegExp,
  timeoutMs: number,
): Promise<{ child: ChildProcess; address: string; log: () => string }> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${argv[0]} did not report its address within ${timeoutMs} ms:\n${log.slice(-2000)}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      const match = pattern.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve({ child, address: match[1]!, log: () => log });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${argv[0]} exited (${code}) before it listened:\n${log.slice(-2000)}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
  });
}

/**
 * A service whose `/metrics` counts requests and errors at a rate the test sets. Like the
 * Prometheus client libraries, it exposes a labelled series only once it has been incremented:
 * a service that has never failed has no `code="500"` series at all.
 */
export class MetricsService {
  private ok = 0;
  private errors = 0;
  private since = Date.now();
  private rate = { requestsPerSecond: 50, errorRate: 0 };
  private server?: http.Server;
  url = '';

  constructor(private readonly labels: { service: string; environment: string }) {}

  /** From now on, requests arrive at this rate with this share of errors. */
  setTraffic(traffic: Partial<{ requestsPerSecond: number; errorRate: number }>): void {
    this.advance();
    this.rate = { ...this.rate, ...traffic };
  }

  private advance(): void {
    const now = Date.now();
    const count = (this.rate.requestsPerSecond * (now - this.since)) / 1000;
    this.errors += count * this.rate.errorRate;
    this.ok += count * (1 - this.rate.errorRate);
    this.since = now;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.advance();
      const l = (code: string) =>
        `service="${this.labels.service}",environment="${this.labels.environment}",code="${code}"`;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(
        [
          '# HELP http_requests_total Requests served.',
          '# TYPE http_requests_total counter',
          `http_requests_total{${l('200')}} ${Math.floor(this.ok)}`,
          ...(this.errors >= 1 ? [`http_requests_total{${l('500')}} ${Math.floor(this.errors)}`] : []),
          '',
        ].join('\n'),
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

export interface RunningPrometheus {
  url: string;
  stop(): Promise<void>;
}

/** A real Prometheus scraping `targets` every second. */
export async function startPrometheus(targets: string[]): Promise<RunningPrometheus> {
  const binary = findBinary('prometheus', 'RELEASE_FLOW_PROMETHEUS_PATH');
  if (!binary)
    throw new Error(
      'prometheus not found: apt-get install -y prometheus, or set RELEASE_FLOW_PROMETHEUS_PATH',
    );
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rf-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: app',
      '    static_configs:',
      `      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const { child, address } = await startLogged(
    [
      binary,
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      '--web.listen-address=127.0.0.1:0',
    ],
    /msg="Listening on" address=(127\.0\.0\.1:\d+)/,
    30_000,
  );
  return {
    url: `http://${address}`,
    async stop() {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RunningRegistry {
  /** `127.0.0.1:<port>`. */
  host: string;
  log: () => string;
  stop(): Promise<void>;
}

/** A real distribution registry (Debian's docker-registry) on a loopback port of its choosing. */
export async function startRegistry(): Promise<RunningRegistry> {
  const binary = findBinary('docker-registry', 'RELEASE_FLOW_REGISTRY_PATH');
  if (!binary)
    throw new Error(
      'docker-registry not found: apt-get install -y docker-registry, or set RELEASE_FLOW_REGISTRY_PATH',
    );
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rf-registry-'));
  await mkdir(path.join(dir, 'data'));
  const config = path.join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: info',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      '  addr: 127.0.0.1:0',
      '',
    ].join('\n'),
  );
  const { child, address, log } = await startLogged(
    [binary, 'serve', config],
    /msg="listening on (127\.0\.0\.1:\d+)"/,
    30_000,
  );
  return {
    host: address,
    log,
    async stop() {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
