/**
 * A busy machine on demand: `--busy N` spins N processes that burn a core each, so a bench can
 * be measured at the load a shared CI machine has (a load average of about 5 on 2 cores), not
 * only on an idle one. Each spinner checks now and then that the bench is still there and
 * exits when it is gone, so a bench that dies leaves no spinning process behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';

const SPIN = `
const parent = Number(process.argv[1]);
for (;;) {
  for (let i = 0; i < 2e7; i++);
  try { process.kill(parent, 0); } catch { process.exit(0); }
}`;

export interface CpuLoad {
  /** Stops every spinner and the sampler; resolves once the spinners have exited. */
  stop(): Promise<void>;
  /** The 1-minute load average, sampled once a second since the start: highest and last. */
  loadAverage(): { max: number; last: number };
}

export function startCpuLoad(spinners: number): CpuLoad {
  const children: ChildProcess[] = Array.from({ length: spinners }, () =>
    spawn(process.execPath, ['-e', SPIN, String(process.pid)], { stdio: 'ignore' }),
  );
  let max = os.loadavg()[0]!;
  let last = max;
  const sampler = setInterval(() => {
    last = os.loadavg()[0]!;
    max = Math.max(max, last);
  }, 1_000);
  sampler.unref();
  return {
    loadAverage: () => ({ max: Math.round(max * 100) / 100, last: Math.round(last * 100) / 100 }),
    async stop() {
      clearInterval(sampler);
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGKILL');
            }),
        ),
      );
    },
  };
}
