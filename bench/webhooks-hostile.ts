/**
 * `npm run bench:webhooks -- --hostile`: honest signed pushes at a steady rate while 50 slow
 * connections (a byte of a bad-signature body every 200 ms) and 20 oversized ones (30 MB
 * chunked bad-signature bodies, as fast as loopback takes them) run against the receiver with
 * the app's default limits, backed by an embedded dev server. Prints the honest deliveries'
 * p50/p99, the receiver process's RSS before and at its peak, and how the bad connections were
 * answered. Goal: honest p99 under 100 ms, RSS under +100 MB. Last line: JSON.
 */
import '../test/helpers/runtime';
import { fork } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startHttpServer } from '../src/http/server';
import { createLogger } from '../src/common/logging';
import { BodyBudget } from '../src/http/webhooks/raw-body';
import { signBody } from '../src/http/webhooks/signature';
import { openWebhookReceiver } from '../src/http/webhooks/webhook-receiver';
import { validateConfig } from '../src/config/load';
import { devServerEnv, unique } from '../test/helpers/temporal-env';
import { percentile } from './figures';
import { post, SECRET, sendOpenLoop, signedPush } from './webhook-load';

const SLOW = 50;
const OVERSIZED = 20;
const OVERSIZED_BYTES = 30 * 1024 * 1024;
const HONEST_RATE = 20;
const HONEST_SECONDS = 10;
const WARMUP_MS = 2_000;
const BAD_SIGNATURE = `sha256=${'0'.repeat(64)}`;

const round = (x: number) => Math.round(x * 10) / 10;
const mb = (bytes: number) => round(bytes / 1024 / 1024);

/** Answers seen by the bad connections, by status ("closed" when the socket went without one). */
const answers: Record<string, number> = {};
const count = (status: string) => (answers[status] = (answers[status] ?? 0) + 1);

function slowClient(port: number, stop: () => boolean): void {
  if (stop()) return;
  const socket = net.connect(port, '127.0.0.1');
  let timer: NodeJS.Timeout | undefined;
  let first = '';
  socket.on('connect', () => {
    socket.write(
      'POST /webhooks/github HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\nx-github-event: push\r\n' +
        `x-hub-signature-256: ${BAD_SIGNATURE}\r\ncontent-length: 1000000\r\n\r\n{`,
    );
    timer = setInterval(() => socket.write(' '), 200);
  });
  socket.on('data', (d) => (first ||= d.toString().slice(9, 12)));
  socket.on('error', () => undefined);
  socket.on('close', () => {
    clearInterval(timer);
    count(first || 'closed');
    setTimeout(() => slowClient(port, stop), 50);
  });
}

function oversizedClient(port: number, stop: () => boolean): void {
  if (stop()) return;
  const req = http.request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/webhooks/github',
    agent: false,
    headers: {
      'content-type': 'application/json',
      'transfer-encoding': 'chunked',
      'x-github-event': 'push',
      'x-hub-signature-256': BAD_SIGNATURE,
    },
  });
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let sent = 0;
  let done = false;
  const again = () => {
    if (done) return;
    done = true;
    setTimeout(() => oversizedClient(port, stop), 50);
  };
  req.on('response', (res) => {
    count(String(res.statusCode));
    res.resume();
    req.destroy();
    again();
  });
  req.on('error', () => {
    count('closed');
    again();
  });
  const pump = () => {
    while (!done && sent < OVERSIZED_BYTES) {
      sent += chunk.length;
      if (!req.write(chunk)) return void req.once('drain', pump);
    }
    if (!done) req.end();
  };
  pump();
}

/** The bad connections, run in a child process so they do not share the receiver's event loop and memory. */
function startAttackers(port: number): { stop(): Promise<Record<string, number>> } {
  const child = fork(__filename, ['--attackers', String(port)], { execArgv: process.execArgv });
  return {
    stop: () =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve(m as Record<string, number>));
        child.send('stop');
      }),
  };
}

function runAttackers(port: number): void {
  let stopped = false;
  const stop = () => stopped;
  for (let i = 0; i < SLOW; i++) slowClient(port, stop);
  for (let i = 0; i < OVERSIZED; i++) oversizedClient(port, stop);
  process.on('message', () => {
    stopped = true;
    process.send!(answers, () => process.exit(0));
  });
}

if (process.argv[2] === '--attackers') runAttackers(Number(process.argv[3]));

export async function runHostileBench(): Promise<void> {
  const env = await devServerEnv();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-bench-hostile-'));
  // The app's defaults, as `npm start` mounts them.
  const limits = validateConfig({}, {}).server.limits;
  const receiver = openWebhookReceiver({
    stateDir,
    repositories: [{ name: 'bench/app', defaultBranch: 'main', releaseTagPattern: '^v\\d+\\.\\d+\\.\\d+$' }],
    secret: SECRET,
    client: () => env.client,
    taskQueue: unique('bench-hostile'),
    logger: createLogger('silent'),
    bodyBudget: new BodyBudget({
      maxBodies: limits.unverifiedBodies,
      maxBytes: limits.unverifiedBodyBytes,
      reservedForSmallBytes: Math.floor(limits.unverifiedBodyBytes / 4),
    }),
  });
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, routes: receiver.routes });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let attackers: { stop(): Promise<Record<string, number>> } | undefined;
  try {
    // Warm the path once, then take the baseline.
    await post(agent, server.port, {
      body: '{}',
      signature: await signBody(SECRET, '{}'),
      id: 'hostile-bench-0',
    }).catch(() => 0);
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 100);

    attackers = startAttackers(server.port);
    await new Promise((r) => setTimeout(r, WARMUP_MS));

    const total = HONEST_RATE * HONEST_SECONDS;
    const prepared = await Promise.all(
      Array.from({ length: total }, (_, i) =>
        signedPush((i + 1).toString(16).padStart(40, '0'), `hostile-bench-${i + 1}`),
      ),
    );
    const latencies: number[] = [];
    const statuses: Record<string, number> = {};
    await sendOpenLoop(
      agent,
      server.port,
      prepared,
      HONEST_RATE,
      (status, ms) => {
        latencies.push(ms);
        statuses[status] = (statuses[status] ?? 0) + 1;
      },
      () => {
        statuses.error = (statuses.error ?? 0) + 1;
      },
    );
    clearInterval(sampler);
    const answers = await attackers.stop();
    attackers = undefined;

    const result = {
      bench: 'webhooks-hostile',
      slowConnections: SLOW,
      oversizedConnections: OVERSIZED,
      honest: {
        sent: total,
        statuses,
        p50Ms: round(percentile(latencies, 50)),
        p99Ms: round(percentile(latencies, 99)),
        maxMs: round(Math.max(...latencies)),
      },
      rssBeforeMb: mb(rssBefore),
      rssPeakMb: mb(rssPeak),
      rssGrowthMb: mb(rssPeak - rssBefore),
      badConnectionAnswers: answers,
      goals: { p99UnderMs: 100, rssGrowthUnderMb: 100 },
      met: percentile(latencies, 99) < 100 && rssPeak - rssBefore < 100 * 1024 * 1024,
    };
    console.log(
      `honest: ${total} at ${HONEST_RATE}/s, ${JSON.stringify(statuses)}, p50 ${result.honest.p50Ms} ms, p99 ${result.honest.p99Ms} ms, max ${result.honest.maxMs} ms`,
    );
    console.log(
      `rss: ${result.rssBeforeMb} MB before, peak ${result.rssPeakMb} MB (+${result.rssGrowthMb} MB)`,
    );
    console.log(`bad connections answered: ${JSON.stringify(answers)}`);
    console.log(JSON.stringify(result));
  } finally {
    await attackers?.stop();
    agent.destroy();
    await server.close();
    await receiver.close();
    await env.teardown();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}
