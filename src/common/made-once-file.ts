/**
 * A small secret file made once per directory and read ever after: keys and tokens that every
 * process on the same state directory, and every restart, must agree on.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The trimmed contents of `dir/name`. The first caller writes `make()` there, readable by its
 * owner only; `wx` makes two processes racing to create it agree on the one that won.
 */
export function madeOnce(dir: string, name: string, make: () => string): string {
  const file = path.join(dir, name);
  mkdirSync(dir, { recursive: true });
  try {
    writeFileSync(file, make(), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readFileSync(file, 'utf8').trim();
}
