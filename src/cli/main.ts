/**
 * The `release-flow` command. Each command group lives in its own file and registers itself
 * on the program here; main() returns the exit code instead of calling process.exit so tests
 * can drive it in-process.
 *
 * Groups load lazily: a command loads only its own group's module (and what that imports), so
 * `--version` or `next-version` never pay for the Temporal client, Octokit or the worker.
 */
import { Command, CommanderError } from 'commander';
import { isUserError } from '../common/errors';
import { packageVersion } from '../common/package-info';
import type { CliContext, CommandRegistrar } from './context';

/**
 * One line per command group: the top-level commands it adds and how to load its registrar.
 * A command missing from `commands` still works (an unknown name loads every group), only slower.
 */
export interface CommandGroup {
  commands: readonly string[];
  /** A plain require, so a checkout run through tsx and the compiled dist/ load the same way. */
  load: () => CommandRegistrar;
}

function registerAll(registrars: readonly CommandRegistrar[]): CommandRegistrar {
  return (program, ctx) => registrars.forEach((register) => register(program, ctx));
}

export const commandGroups: readonly CommandGroup[] = [
  { commands: ['config'], load: () => require('./config-command').registerConfigCommands },
  { commands: ['lock'], load: () => require('./lock-command').registerLockCommands },
  { commands: ['doctor'], load: () => require('./doctor-command').registerDoctorCommand },
  {
    commands: ['next-version'],
    load: () => require('./next-version-command').registerNextVersionCommand,
  },
  {
    commands: ['check-pr'],
    load: () => require('./check-pr-command').registerCheckPrCommand,
  },
  { commands: ['github'], load: () => require('./github-command').registerGitHubCommands },
  // The pipeline's commands, one file each (start, decide, status), loaded as one group.
  {
    commands: ['start', 'promote', 'decide', 'status'],
    load: () =>
      registerAll([
        require('./start-command').registerStartCommands,
        require('./decide-command').registerDecideCommands,
        require('./status-command').registerStatusCommand,
      ]),
  },
  // After the start commands: it adds `start hotfix` to their `start`.
  {
    commands: ['start', 'hotfix', 'environments'],
    load: () => require('./hotfix-command').registerHotfixCommands,
  },
  { commands: ['replay'], load: () => require('./replay-command').registerReplayCommand },
  { commands: ['demo'], load: () => require('./demo-command').registerDemoCommands },
  { commands: ['outbox'], load: () => require('./outbox-command').registerOutboxCommand },
  {
    commands: ['worker', 'serve', 'start-all'],
    load: () => require('./role-commands').registerRoleCommands,
  },
  { commands: ['board'], load: () => require('./board-command').registerBoardCommands },
  { commands: ['upgrade'], load: () => require('./upgrade-command').registerUpgradeCommands },
];

/** The groups a command line needs: none for a bare --version, its own group, or all (help, unknown). */
export function groupsFor(argv: readonly string[]): readonly CommandGroup[] {
  const args = argv.slice(2);
  const operands = args.filter((a) => !a.startsWith('-'));
  const name = operands[0] === 'help' ? operands[1] : operands[0];
  if (name === undefined) {
    const versionOnly =
      args.some((a) => a === '-V' || a === '--version') && !args.some((a) => a === '-h' || a === '--help');
    return versionOnly ? [] : commandGroups;
  }
  const own = commandGroups.filter((g) => g.commands.includes(name));
  return own.length ? own : commandGroups;
}

export function buildProgram(ctx: CliContext, groups: readonly CommandGroup[] = commandGroups): Command {
  const program = new Command('release-flow')
    .description('A durable release conductor on Temporal: main -> dev -> staging (locked) -> production.')
    .version(packageVersion(), '-V, --version', 'print the release-flow version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.out(s.replace(/\n$/, '')),
      writeErr: (s) => ctx.err(s.replace(/\n$/, '')),
    });
  for (const group of groups) {
    const register = group.load();
    if (typeof register !== 'function')
      throw new Error(`command group ${group.commands.join('/')} has no registrar`);
    register(program, ctx);
  }
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
  try {
    const program = buildProgram(ctx, groupsFor(argv));
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
