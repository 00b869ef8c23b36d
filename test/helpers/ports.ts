export { freePort } from '../../src/temporal/executables';

/** Poll until fn() is truthy or the deadline passes; returns the last value. */
export async function waitFor<T>(fn: () => Promise<T> | T, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await fn();
  while (!last && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, intervalMs));
    last = await fn();
  }
  return last;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
