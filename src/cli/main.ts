/**
 * The `release-flow` command. Each command group lives in its own file and registers itself
 * on the program here; main() returns the exit code instead of calling process.exit so tests
 * can drive it in-process.
 */
import { Command, CommanderError } from 'commander';
import { isUserError } from '../errors';
import { registerConfigCommands } from './config-command';
import { registerLockCommands } from './lock-command';
import { registerSetupCommands } from './setup-command';
import { registerNextVersionCommand } from './next-version-command';
import { registerCheckPrCommand } from './check-pr-command';
import { registerGitHubCommands } from './github-command';
import { registerPipelineCommands } from './pipeline-command';
import { registerReplayCommand } from './replay-command';
import { registerDemoCommands } from './demo-command';
import { registerOutboxCommand } from './outbox-command';
import { registerHotfixCommands } from './hotfix-command';
import { packageVersion } from '../package-info';

export type CommandRegistrar = (program: Command, ctx: CliContext) => void;

export interface CliContext {
  /** Where command output goes; tests swap it. */
  out: (text: string) => void;
  err: (text: string) => void;
  /** Set by a command's action to choose the exit code. */
  setExitCode: (code: number) => void;
}

const registrars: CommandRegistrar[] = [
  registerConfigCommands,
  registerLockCommands,
  registerSetupCommands,
  registerNextVersionCommand,
  registerCheckPrCommand,
  registerGitHubCommands,
  registerPipelineCommands,
  registerReplayCommand,
  registerDemoCommands,
  registerOutboxCommand,
  // After the pipeline commands: it adds `start hotfix` to their `start`.
  registerHotfixCommands,
];

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('release-flow')
    .description('A durable release conductor on Temporal: main -> dev -> staging (locked) -> production.')
    .version(packageVersion(), '-V, --version', 'print the release-flow version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.out(s.replace(/\n$/, '')),
      writeErr: (s) => ctx.err(s.replace(/\n$/, '')),
    });
  for (const register of registrars) register(program, ctx);
  return program;
}

export async function main(argv: string[], io?: Partial<CliContext>): Promise<number> {
  let exitCode = 0;
  const ctx: CliContext = {
    out: io?.out ?? ((s) => process.stdout.write(`${s}\n`)),
    err: io?.err ?? ((s) => process.stderr.write(`${s}\n`)),
    setExitCode: (code) => {
      exitCode = code;
    },
  };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (isUserError(err)) {
      ctx.err(`release-flow: ${err.render()}`);
      return 2;
    }
    ctx.err(
      `release-flow: unexpected error (a bug; please report it):\n${err instanceof Error ? err.stack : String(err)}`,
    );
    return 70;
  }
}
