/**
 * `release-flow board hash-token [--name NAME] [--stdin] [--json]`: the hash of a board token for
 * `board.auth.tokens` (or the tokens file). A new random token is made and printed once; with
 * `--stdin` the token is read from standard input instead, so it never appears in the process
 * list or the shell history.
 */
import type { Command } from 'commander';
import { hashToken, newToken } from '../http/board/token-hash';
import { UserError } from '../common/errors';
import type { CliContext } from './context';

async function readStdin(stdin: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export function registerBoardCommands(program: Command, ctx: CliContext, stdin = process.stdin): void {
  const board = program.command('board').description('the release board in the browser');
  board
    .command('hash-token')
    .description('hash a board token for board.auth.tokens (the token from standard input, or a new one)')
    .option('--name <name>', 'the person the token is for (printed in the config entry)', 'NAME')
    .option('--stdin', 'read the token from standard input instead of making a new one')
    .option('--json', 'print JSON: {name, hash, token?}')
    .action(async (opts: { name: string; stdin?: boolean; json?: boolean }) => {
      const given = opts.stdin ? await readStdin(stdin) : '';
      if (opts.stdin && !given) {
        throw new UserError(
          'EMPTY_TOKEN',
          'standard input held no token',
          'pipe the token in: printf %s "$TOKEN" | release-flow board hash-token --stdin',
        );
      }
      const token = given || newToken();
      const hash = await hashToken(token);
      if (opts.json) {
        ctx.out(JSON.stringify({ name: opts.name, hash, ...(given ? {} : { token }) }));
        return;
      }
      if (!given) ctx.out(`new token for ${opts.name} (give it to them; only its hash is kept): ${token}`);
      ctx.out('add under board.auth.tokens:');
      ctx.out(`  - { name: ${JSON.stringify(opts.name)}, hash: ${JSON.stringify(hash)} }`);
    });
}
