/**
 * Secrets come from the environment only. This module names them and masks them for anything
 * that leaves the process (config check output, logs).
 */
export const SECRET_ENV_VARS = [
  'GITHUB_TOKEN',
  'GITHUB_APP_PRIVATE_KEY',
  'GITHUB_WEBHOOK_SECRET',
  'TEMPORAL_API_KEY',
  'SLACK_WEBHOOK_URL',
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'PAGERDUTY_ROUTING_KEY',
  'DATADOG_API_KEY',
  'DATADOG_APP_KEY',
  'JIRA_API_TOKEN',
  'JIRA_PAT',
  'CONFLUENCE_API_TOKEN',
  'CONFLUENCE_PAT',
] as const;
export type SecretName = (typeof SECRET_ENV_VARS)[number];

/** What `secretEnvNames` reads of a configuration: the integrations and each repository's deploy. */
export interface SecretNamesConfig {
  integrations: unknown;
  repositories: readonly { commands: { deploy: { variables?: readonly string[] } } }[];
}

// Every field ending in `Env` names a variable that holds a secret, wherever it sits.
function envFieldValues(value: unknown, out: Set<string>, depth = 0): void {
  if (depth > 8 || value === null || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value)) {
    if (key.endsWith('Env') && typeof v === 'string') out.add(v);
    else envFieldValues(v, out, depth + 1);
  }
}

/**
 * The names of every variable that holds a secret under this configuration: the fixed ones,
 * every variable an integration's `...Env` field names, and the variables deploy commands are
 * given (a cloud credential is as secret to everyone else as the worker's own).
 */
export function secretEnvNames(config: SecretNamesConfig): string[] {
  const names = new Set<string>(SECRET_ENV_VARS);
  envFieldValues(config.integrations, names);
  for (const repo of config.repositories) {
    for (const name of repo.commands.deploy.variables ?? []) names.add(name);
  }
  return [...names];
}

/** The worker's own secrets: every secret name except those deploy commands are given. */
export function workerSecretEnvNames(config: SecretNamesConfig): string[] {
  const names = new Set<string>(SECRET_ENV_VARS);
  envFieldValues(config.integrations, names);
  return [...names];
}

// Names masked besides SECRET_ENV_VARS: those of the running configuration (registerSecretNames).
const configuredSecretNames = new Set<string>();

/** Masks the values of these variables too, from now on (the worker's configuration's names). */
export function registerSecretNames(names: readonly string[]): void {
  for (const name of names) configuredSecretNames.add(name);
}

export type SecretsView = Record<SecretName, 'set (masked)' | 'not set'>;

export function describeSecrets(env: NodeJS.ProcessEnv): SecretsView {
  const view = {} as SecretsView;
  for (const name of SECRET_ENV_VARS) view[name] = env[name] ? 'set (masked)' : 'not set';
  return view;
}

// Secrets that never sit in the environment: a private key read from a file, GitHub App
// installation tokens minted at run time. Only the newest are kept: an installation token is
// dead an hour after it is minted, and every log line is checked against the whole set.
const RUNTIME_SECRET_LIMIT = 64;
const runtimeSecrets = new Set<string>();

/** Masks `value` from now on in everything `maskSecrets` sees. */
export function registerSecret(value: string): void {
  if (value.length < 4 || runtimeSecrets.has(value)) return;
  runtimeSecrets.add(value);
  if (runtimeSecrets.size > RUNTIME_SECRET_LIMIT) {
    runtimeSecrets.delete(runtimeSecrets.values().next().value!);
  }
}

// A value a step printed through `base64` (or a tool that encodes credentials, like HTTP basic
// auth) is as readable as the value itself.
function encodedForms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const forms = new Set([bytes.toString('base64'), bytes.toString('base64url')]);
  for (const form of [...forms]) forms.add(form.replace(/=+$/, ''));
  return [...forms].filter((f) => f.length >= 6 && f !== value);
}

function maskValue(text: string, value: string): string {
  let masked = text.split(value).join('****');
  for (const form of encodedForms(value)) masked = masked.split(form).join('****');
  // A PEM key spans lines, and a JSON log line carries it with its newlines escaped, so the
  // whole value would not match: its body lines are masked one by one. The BEGIN/END armour
  // and a short last line are not secret.
  if (/\n|\\n/.test(value)) {
    for (const line of value.split(/\r?\n|\\n/)) {
      const part = line.trim();
      if (part.length >= 16 && !part.startsWith('-----')) masked = masked.split(part).join('****');
    }
  }
  return masked;
}

/**
 * Replace every secret value present in `env`, and every registered one, inside `text`, with
 * their base64 forms.
 */
export function maskSecrets(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let masked = text;
  for (const name of SECRET_ENV_VARS) {
    const value = env[name];
    if (value && value.length >= 4) masked = maskValue(masked, value);
  }
  for (const name of configuredSecretNames) {
    const value = env[name];
    if (value && value.length >= 4) masked = maskValue(masked, value);
  }
  for (const value of runtimeSecrets) masked = maskValue(masked, value);
  return masked;
}

/** `value` with every string inside it (object keys left alone) masked; other values unchanged. */
export function maskDeep<T>(value: T, env: NodeJS.ProcessEnv = process.env, depth = 0): T {
  if (typeof value === 'string') return maskSecrets(value, env) as T;
  if (depth > 32 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, env, depth + 1)) as T;
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = maskDeep(v, env, depth + 1);
  return out as T;
}
