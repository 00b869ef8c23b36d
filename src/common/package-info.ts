import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The project root: where package.json, tools/ and .tools/ live. */
export const projectRoot = path.resolve(__dirname, '..', '..');

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
