/**
 * What every command group is given: where output goes and how to set the exit code. Its own
 * module so the command files and main.ts, which loads them, both import it and not each other.
 */
import type { Command } from 'commander';

export type CommandRegistrar = (program: Command, ctx: CliContext) => void;

export interface CliContext {
  /** Where command output goes; tests swap it. */
  out: (text: string) => void;
  err: (text: string) => void;
  /** Set by a command's action to choose the exit code. */
  setExitCode: (code: number) => void;
}
