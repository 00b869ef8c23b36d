/**
 * Load the configuration once: find the file, parse YAML or JSON, apply environment overrides,
 * validate, and report every problem together (each with field, value and fix) before failing.
 */
import { patternAdmitsNonSemver } from '../domain/release-tags';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { isRepositoryFullName } from '../domain/repository-name';
import { UserError } from '../common/errors';
import { integrationProblems } from './integrations-checks';
import { configSchema, type Config } from './schema';
import { workerSecretEnvNames } from '../common/secrets';

export const DEFAULT_CONFIG_FILES = ['release-flow.yml', 'release-flow.yaml', 'release-flow.json'];

export interface LoadedConfig {
  config: Readonly<Config>;
  /** True when no file was named or found and the demo's written configuration was used. */
  demo?: boolean;
  /** The file read, or undefined when running on defaults. */
  file?: string;
}

export class ConfigError extends UserError {
  constructor(
    readonly problems: string[],
    file: string | undefined,
  ) {
    super(
      'CONFIG_INVALID',
      `${file ?? 'configuration'} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
  }

  override render(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** Which file to read: --config, then RELEASE_FLOW_CONFIG, then a default name in cwd. */
export function findConfigFile(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
): string | undefined {
  const chosen = explicit ?? env.RELEASE_FLOW_CONFIG;
  if (chosen) {
    const full = path.resolve(cwd, chosen);
    if (!existsSync(full)) {
      throw new UserError(
        'CONFIG_NOT_FOUND',
        `config file ${full} does not exist`,
        'check the path given to --config or RELEASE_FLOW_CONFIG',
      );
    }
    if (statSync(full).isDirectory()) {
      throw new UserError(
        'CONFIG_NOT_A_FILE',
        `config file ${full} is a directory`,
        `name the file itself, e.g. ${path.join(full, DEFAULT_CONFIG_FILES[0]!)}`,
      );
    }
    return full;
  }
  return (
    DEFAULT_CONFIG_FILES.map((f) => path.join(cwd, f)).find((f) => existsSync(f)) ??
    // Last: the configuration `npm start` wrote for its demo, so the CLI sees the demo repository.
    [demoConfigPath(path.join(cwd, DEFAULT_STATE_DIR))].find((f) => existsSync(f))
  );
}

/** Where `npm start` writes the demo's configuration: inside the state directory. */
export function demoConfigPath(stateDir: string): string {
  return path.join(stateDir, 'demo', 'release-flow.json');
}

const DEFAULT_STATE_DIR = '.release-flow';

function parseFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(
      'CONFIG_UNREADABLE',
      `config file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      'check its permissions, or name another file with --config or RELEASE_FLOW_CONFIG',
    );
  }
  try {
    return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ConfigError(
      [`the file is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${detail}`],
      file,
    );
  }
}

/** Environment variables that override file values (documented in docs/configuration.md). */
function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, problems: string[]): void {
  const setIn = (section: string, key: string, value: unknown) => {
    const current = (raw[section] ?? {}) as Record<string, unknown>;
    raw[section] = { ...current, [key]: value };
  };
  if (env.PORT !== undefined && env.PORT !== '') {
    const port = Number(env.PORT);
    if (!Number.isInteger(port))
      problems.push(`PORT=${JSON.stringify(env.PORT)}: expected a port number such as 3000`);
    else setIn('server', 'port', port);
  }
  if (env.RELEASE_FLOW_TASK_QUEUE) setIn('temporal', 'taskQueue', env.RELEASE_FLOW_TASK_QUEUE);
  if (env.LOG_LEVEL) setIn('log', 'level', env.LOG_LEVEL);
}

export function formatIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const field = issue.path.length ? fieldPath(issue.path) : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (issue.path.length ? `${field}.${k}` : k));
    return `${keys.join(', ')}: unknown key${keys.length > 1 ? 's' : ''} (fix: remove or correct the spelling; see docs/configuration.md)`;
  }
  const value = valueAt(raw, issue.path);
  const shown = value === undefined ? 'missing' : JSON.stringify(value);
  return `${field}: got ${shown}: ${issue.message.replace(/^Invalid input: /, '')} (fix: ${fixFor(issue, field)})`;
}

function fixFor(issue: z.core.$ZodIssue, field: string): string {
  switch (issue.code) {
    case 'invalid_type':
      return `set ${field} to a ${issue.expected}, or remove it to use the default`;
    case 'invalid_value':
      return `use one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_big':
      return `use a value of at most ${String(issue.maximum)}`;
    case 'too_small':
      return issue.origin === 'string'
        ? `give ${field} a non-empty value`
        : `use a value of at least ${String(issue.minimum)}`;
    case 'invalid_format':
      return `write ${field} in the expected form`;
    default:
      return 'see docs/configuration.md';
  }
}

function fieldPath(p: PropertyKey[]): string {
  return p.reduce<string>(
    (acc, part) =>
      typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part),
    '',
  );
}

function valueAt(raw: unknown, p: PropertyKey[]): unknown {
  let cur: unknown = raw;
  for (const part of p) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[part];
  }
  return cur;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export function validateConfig(raw: unknown, env: NodeJS.ProcessEnv, file?: string): Config {
  const problems: string[] = [];
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError(
      ['the top level must be a mapping of sections (temporal, server, repositories, ...)'],
      file,
    );
  }
  const withEnv = { ...((raw ?? {}) as Record<string, unknown>) };
  applyEnvOverrides(withEnv, env, problems);
  const result = configSchema.safeParse(withEnv);
  if (!result.success) problems.push(...result.error.issues.map((i) => formatIssue(i, withEnv)));
  if (result.success) problems.push(...crossFieldProblems(result.data));
  if (problems.length) throw new ConfigError(problems, file);
  return result.data as Config;
}

function crossFieldProblems(config: Config): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  config.repositories.forEach((repo, i) => {
    if (seen.has(repo.name))
      problems.push(`repositories[${i}].name: got ${JSON.stringify(repo.name)}: duplicate repository name`);
    seen.add(repo.name);
    try {
      // One release-tag rule everywhere: a custom pattern must accept only tags naming a semver.
      for (const problem of patternAdmitsNonSemver(repo.releaseTagPattern))
        problems.push(`repositories[${i}].releaseTagPattern: ${problem}`);
    } catch {
      problems.push(
        `repositories[${i}].releaseTagPattern: got ${JSON.stringify(repo.releaseTagPattern)}: not a valid regular expression`,
      );
    }
    problems.push(...githubProblems(repo, `repositories[${i}]`));
    // A deploy command gets what is named for it, never a secret of the worker's own.
    const own = new Set([...workerSecretEnvNames(config), 'GITHUB_APP_PRIVATE_KEY_PATH']);
    for (const name of repo.commands.deploy.variables) {
      if (own.has(name))
        problems.push(
          `repositories[${i}].commands.deploy.variables: got ${JSON.stringify(name)}: the worker's own secret is never given to a step; give the deploy a variable of its own (e.g. DEPLOY_${name})`,
        );
    }
  });
  problems.push(...integrationProblems(config));
  problems.push(...boardProblems(config.board));
  return problems;
}

function boardProblems(board: Config['board']): string[] {
  const { auth } = board;
  const problems: string[] = [];
  if (auth.mode === 'proxy' && auth.proxy.trustedAddresses.length === 0) {
    problems.push(
      'board.auth.proxy.trustedAddresses: got []: mode "proxy" trusts the identity header only from the proxy (fix: list the addresses the proxy connects from, e.g. [127.0.0.1])',
    );
  }
  if (auth.mode === 'tokens' && auth.tokens.length === 0 && !auth.tokensFile) {
    problems.push(
      'board.auth.tokens: got []: mode "tokens" needs people to sign in (fix: add {name, hash} entries from `release-flow board hash-token`, or set board.auth.tokensFile)',
    );
  }
  if (auth.mode === 'none' && auth.read === 'login') {
    problems.push(
      'board.auth.read: got "login", but board.auth.mode is "none", so nobody could sign in (fix: set board.auth.mode to "proxy" or "tokens", or read to "open")',
    );
  }
  return problems;
}

function githubProblems(repo: Config['repositories'][number], at: string): string[] {
  const problems: string[] = [];
  if (repo.github.enabled === true && !isRepositoryFullName(repo.name)) {
    problems.push(
      `${at}.github.enabled: got true, but the name ${JSON.stringify(repo.name)} is not OWNER/REPO (fix: set ${at}.name to the repository's GitHub name, e.g. acme/app, or set ${at}.github.enabled to false)`,
    );
  }
  const wiki = repo.github.wiki;
  for (const key of ['folder', 'branch'] as const) {
    if (wiki.mode === 'wiki' && wiki[key] !== undefined) {
      problems.push(
        `${at}.github.wiki.${key}: got ${JSON.stringify(wiki[key])}, but it is used only with mode "contents" (fix: set ${at}.github.wiki.mode to "contents", or remove ${key})`,
      );
    }
  }
  return problems;
}

export function loadConfig(
  opts: { file?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): LoadedConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const file = findConfigFile(opts.file, env, cwd);
  const raw = file ? parseFile(file) : {};
  const demo = file !== undefined && file === demoConfigPath(path.join(cwd, DEFAULT_STATE_DIR));
  return { config: deepFreeze(validateConfig(raw, env, file)), file, ...(demo ? { demo } : {}) };
}
