import { main } from '../../src/cli/main';

/** Runs `release-flow ARGV` in-process and collects what it printed and its exit code. */
export async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'release-flow', ...argv], {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
