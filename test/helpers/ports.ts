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

/**
 * A raw configuration whose dev server ports were 0, with the ports the running app was given:
 * what CLI commands need to find that server.
 */
export function withChosenPorts<T extends { temporal: { devServer: object } }>(
  raw: T,
  app: { devServer?: { address: string; uiUrl: string } },
): T {
  if (!app.devServer) return raw;
  const port = Number(app.devServer.address.split(':').pop());
  const uiPort = Number(new URL(app.devServer.uiUrl).port);
  return { ...raw, temporal: { ...raw.temporal, devServer: { ...raw.temporal.devServer, port, uiPort } } };
}
