/**
 * The webhook load generator in a process of its own: signing and posting thousands of requests
 * a second costs about as much CPU as answering them, so in the receiver's process it would
 * slow the very event loop the bench measures. The parent sends one job; this process signs
 * the deliveries, posts them open-loop and sends every answer back.
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import { sendOpenLoop, signedPush, type Delivery } from './webhook-load';

export interface LoadJob {
  port: number;
  rate: number;
  /** The pushed commits, one delivery each, in sending order. */
  commits: string[];
  /**
   * Sent first, at their own rate, and not timed: both processes' code paths and the keep-alive
   * sockets are warm when the timed deliveries begin, as in a receiver that has been running.
   */
  warmup?: { rate: number; commits: string[] };
}

export interface LoadResult {
  /** [status, ms, sent at ms after the first] of every answered request. */
  answers: [number, number, number][];
  /** Requests that got no answer (warm-up ones included). */
  errors: number;
  /** The warm-up's answers by status: untimed, but a refused one is as lost as any other. */
  warmupStatuses: Record<string, number>;
  /** From the first send to the last answer. */
  seconds: number;
}

async function run(job: LoadJob): Promise<LoadResult> {
  const deliveries: Delivery[] = await Promise.all(job.commits.map((c, i) => signedPush(c, `bench-${i}`)));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const answers: [number, number, number][] = [];
  let errors = 0;
  const warmupStatuses: Record<string, number> = {};
  try {
    if (job.warmup) {
      const warm = await Promise.all(job.warmup.commits.map((c, i) => signedPush(c, `warmup-${i}`)));
      await sendOpenLoop(
        agent,
        job.port,
        warm,
        job.warmup.rate,
        (status) => {
          warmupStatuses[status] = (warmupStatuses[status] ?? 0) + 1;
        },
        () => errors++,
      );
    }
    const seconds = await sendOpenLoop(
      agent,
      job.port,
      deliveries,
      job.rate,
      (status, ms, sentAtMs) => answers.push([status, ms, sentAtMs]),
      () => errors++,
    );
    return { answers, errors, seconds, warmupStatuses };
  } finally {
    agent.destroy();
  }
}

/** Runs one job in a child process and resolves with its answers. */
export function sendFromChildProcess(job: LoadJob): Promise<LoadResult> {
  const child = fork(__filename, ['--child'], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (result) => {
      resolve(result as LoadResult);
      child.disconnect();
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the load generator exited (${code}) before it answered`)));
    child.send(job);
  });
}

if (process.argv.includes('--child') && process.send) {
  process.once('message', (job) => {
    run(job as LoadJob).then(
      (result) => process.send!(result),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
