/**
 * A real browser for board tests: Debian's chromium (CHROMIUM_PATH overrides) driven by
 * playwright-core, which never downloads a browser of its own.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export function chromiumPath(): string {
  const found = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
    (p) => p && existsSync(p),
  );
  if (!found) throw new Error('no chromium: install it (apt-get install -y chromium) or set CHROMIUM_PATH');
  return found;
}

export async function launchBrowser(): Promise<Browser> {
  // The sandbox needs user namespaces that root in a container often lacks.
  return await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
}
