/**
 * How the local adapters run git on the worker's clones: one environment and one set of
 * overrides, so the clone adapter and the command runner cannot drift apart.
 */

/**
 * `-c` settings before every git command. Build steps share the clone's `.git`: hooks or an
 * fsmonitor they plant there must never run as the worker.
 */
export const HARDENED_GIT_CONFIG: readonly string[] = [
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'core.fsmonitor=false',
];

/** The worker's environment for git: no prompts, C locale, and no variables that redirect it. */
export function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_OPTIONAL_LOCKS: '0',
  };
  // Inside a git hook these point at another repository and would override the clone's.
  for (const name of [
    'GIT_DIR',
    'GIT_WORK_TREE',
    'GIT_INDEX_FILE',
    'GIT_OBJECT_DIRECTORY',
    'GIT_COMMON_DIR',
  ]) {
    delete env[name];
  }
  return env;
}
