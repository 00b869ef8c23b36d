/**
 * What the integrations schema alone cannot say: names that must refer to a configured source,
 * channel or registry, settings that only make sense together, and query templates with unknown
 * placeholders. Each problem names the field, what it got, and the fix (docs/integrations.md "Integrations").
 */
import { unknownPlaceholders } from '../domain/apm-query-template';
import type { Config } from './schema';

function quoted(value: unknown): string {
  return JSON.stringify(value);
}

function templateProblems(at: string, template: string | undefined): string[] {
  if (!template) return [];
  const unknown = unknownPlaceholders(template);
  return unknown.length
    ? [
        `${at}: got ${quoted(template)}: unknown placeholder${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `{${u}}`).join(', ')} (fix: use {repository}, {environment}, {version}, {service} or {interval})`,
      ]
    : [];
}

function pairProblems(
  at: string,
  a: string | undefined,
  b: string | undefined,
  names: [string, string],
): string[] {
  if (!!a === !!b) return [];
  const [given, missing] = a ? names : [names[1], names[0]];
  return [`${at}.${missing}: missing, but ${at}.${given} is set (fix: set both, or neither)`];
}

export function integrationProblems(config: Config): string[] {
  const problems: string[] = [];
  const integrations = config.integrations;
  const channels = integrations.alerts.channels;
  for (const [name, source] of Object.entries(integrations.apm)) {
    const at = `integrations.apm.${name}`;
    problems.push(...templateProblems(`${at}.errorQuery`, source.errorQuery));
    problems.push(...templateProblems(`${at}.requestQuery`, source.requestQuery));
    if (source.type === 'prometheus' && source.auth) {
      const auth = source.auth;
      if (auth.bearerTokenEnv && (auth.usernameEnv || auth.passwordEnv))
        problems.push(
          `${at}.auth: got both bearerTokenEnv and usernameEnv/passwordEnv (fix: use a bearer token or basic credentials, not both)`,
        );
      else if (!auth.bearerTokenEnv)
        problems.push(
          ...pairProblems(`${at}.auth`, auth.usernameEnv, auth.passwordEnv, ['usernameEnv', 'passwordEnv']),
        );
    }
  }
  for (const [name, channel] of Object.entries(channels)) {
    if (channel.type !== 'slack') continue;
    const at = `integrations.alerts.channels.${name}`;
    problems.push(...pairProblems(at, channel.botTokenEnv, channel.channel, ['botTokenEnv', 'channel']));
  }
  const routeProblems = (at: string, routes: Record<string, string[]>) => {
    for (const [team, names] of Object.entries(routes)) {
      names.forEach((channel, i) => {
        if (!channels[channel])
          problems.push(
            `${at}.${team}[${i}]: got ${quoted(channel)}: no such channel (fix: define it under integrations.alerts.channels, or use one of ${Object.keys(channels).map(quoted).join(', ') || '(none defined)'})`,
          );
      });
    }
  };
  routeProblems('integrations.alerts.teams', integrations.alerts.teams);
  if (integrations.registry) {
    const r = integrations.registry;
    problems.push(
      ...pairProblems('integrations.registry', r.usernameEnv, r.passwordEnv, ['usernameEnv', 'passwordEnv']),
    );
    for (const key of ['devRepository', 'prodRepository'] as const) {
      if (!r[key].includes('{artifact}'))
        problems.push(
          `integrations.registry.${key}: got ${quoted(r[key])}: it must contain {artifact}, or every repository's artifacts would share one OCI repository (fix: e.g. "release-flow/${key === 'devRepository' ? 'dev' : 'prod'}/{artifact}")`,
        );
    }
    if (r.devRepository === r.prodRepository)
      problems.push(
        `integrations.registry.prodRepository: got ${quoted(r.prodRepository)}, the same as devRepository (fix: give production its own repository)`,
      );
  }
  config.repositories.forEach((repo, i) => {
    const at = `repositories[${i}].integrations`;
    for (const [env, choice] of Object.entries(repo.integrations.apm)) {
      if (!choice) continue;
      if (!integrations.apm[choice.source])
        problems.push(
          `${at}.apm.${env}.source: got ${quoted(choice.source)}: no such APM source (fix: define it under integrations.apm, or use one of ${Object.keys(integrations.apm).map(quoted).join(', ') || '(none defined)'})`,
        );
      problems.push(...templateProblems(`${at}.apm.${env}.errorQuery`, choice.errorQuery));
      problems.push(...templateProblems(`${at}.apm.${env}.requestQuery`, choice.requestQuery));
    }
    if (repo.integrations.registry === 'oci' && !integrations.registry)
      problems.push(
        `${at}.registry: got "oci", but integrations.registry is not configured (fix: add integrations.registry with type "oci" and url, or use "local")`,
      );
    routeProblems(`${at}.alerts`, repo.integrations.alerts);
  });
  return problems;
}

/** The environment variables the integrations read secrets from (besides the fixed list). */
export function integrationSecretNames(config: Config): string[] {
  const names = new Set<string>();
  for (const source of Object.values(config.integrations.apm)) {
    if (source.type === 'prometheus') {
      for (const n of [source.auth?.bearerTokenEnv, source.auth?.passwordEnv]) if (n) names.add(n);
    } else {
      names.add(source.apiKeyEnv);
      names.add(source.appKeyEnv);
    }
  }
  for (const channel of Object.values(config.integrations.alerts.channels)) {
    if (channel.type === 'slack') names.add(channel.botTokenEnv ?? channel.webhookUrlEnv);
    else names.add(channel.routingKeyEnv);
  }
  const registry = config.integrations.registry;
  for (const n of [registry?.passwordEnv, registry?.identityTokenEnv]) if (n) names.add(n);
  return [...names].sort();
}
