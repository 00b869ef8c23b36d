/**
 * Secrets come from the environment only. This module names them and masks them for anything
 * that leaves the process (config check output, logs).
 */
export const SECRET_ENV_VARS = [
  'GITHUB_TOKEN',
  'GITHUB_WEBHOOK_SECRET',
  'TEMPORAL_API_KEY',
  'SLACK_WEBHOOK_URL',
  'PAGERDUTY_ROUTING_KEY',
  'DATADOG_API_KEY',
  'DATADOG_APP_KEY',
] as const;
export type SecretName = (typeof SECRET_ENV_VARS)[number];

export type SecretsView = Record<SecretName, 'set (masked)' | 'not set'>;

export function describeSecrets(env: NodeJS.ProcessEnv): SecretsView {
  const view = {} as SecretsView;
  for (const name of SECRET_ENV_VARS) view[name] = env[name] ? 'set (masked)' : 'not set';
  return view;
}

/** Replace every secret value present in `env` inside `text`. */
export function maskSecrets(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let masked = text;
  for (const name of SECRET_ENV_VARS) {
    const value = env[name];
    if (value && value.length >= 4) masked = masked.split(value).join('****');
  }
  return masked;
}
