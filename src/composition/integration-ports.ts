/**
 * The real integrations chosen per repository and environment (docs/integrations.md "Integrations"): each
 * port here dispatches to the configured adapter, or to the local one when a repository names
 * none, so the demo and `npm start` need no account. Adapters are built once per name and hold no
 * secret: credentials are read from the environment on each call and masked.
 */
import path from 'node:path';
import { DatadogApm, datadogApiUrl } from '../adapters/datadog/datadog-apm';
import type { AlertChannel } from '../adapters/alerts/alert-channel';
import { RoutedAlerts } from '../adapters/alerts/routed-alerts';
import { findOras, OrasRegistry } from '../adapters/oci/oras-registry';
import { PagerDutyChannel } from '../adapters/pagerduty/pagerduty-channel';
import { PrometheusApm } from '../adapters/prometheus/prometheus-apm';
import { SlackChannel } from '../adapters/slack/slack-channel';
import type { Config, RepositoryConfig } from '../config/schema';
import { parseDuration } from '../common/duration';
import { UserError } from '../common/errors';
import { projectRoot } from '../common/package-info';
import type { Alerts } from '../ports/alerts';
import type { Apm, ApmQuery } from '../ports/apm';
import type { MeasuredSample } from '../domain/health-verdict';
import type { Registry } from '../ports/registry';

type Integrations = Config['integrations'];

/** The APM adapter of a named source, with a repository's query overrides. */
export function apmFromSource(
  name: string,
  source: Integrations['apm'][string],
  overrides: { errorQuery?: string; requestQuery?: string },
  env: NodeJS.ProcessEnv,
): PrometheusApm | DatadogApm {
  const common = {
    name,
    errorQuery: overrides.errorQuery ?? source.errorQuery,
    requestQuery: overrides.requestQuery ?? source.requestQuery,
    errorsAs: source.errorsAs,
    timeoutMs: parseDuration(source.timeout),
    env,
  };
  if (source.type === 'prometheus') {
    return new PrometheusApm({ ...common, url: source.url, ...(source.auth ? { auth: source.auth } : {}) });
  }
  return new DatadogApm({
    ...common,
    apiUrl: datadogApiUrl(source.site, source.apiUrl),
    noErrorSeries: source.noErrorSeries,
    apiKeyEnv: source.apiKeyEnv,
    appKeyEnv: source.appKeyEnv,
  });
}

/** The APM choice of one repository's environment, or undefined for the local APM. */
export function apmChoice(config: Readonly<Config>, repository: RepositoryConfig | undefined, env: string) {
  const choice = repository?.integrations.apm[env as 'dev' | 'staging' | 'production'];
  if (!choice) return undefined;
  const source = config.integrations.apm[choice.source];
  if (!source) return undefined;
  return { choice, source };
}

/** Routes each query to its repository's configured APM for that environment. */
export class RoutedApm implements Apm {
  private readonly built = new Map<string, Apm>();

  constructor(
    private readonly config: Readonly<Config>,
    private readonly local: Apm,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  async measure(query: ApmQuery): Promise<MeasuredSample> {
    const repository = this.config.repositories.find((r) => r.name === query.service);
    const chosen = apmChoice(this.config, repository, query.env);
    if (!chosen) return await this.local.measure(query);
    const key = `${query.service}\u0000${query.env}`;
    let apm = this.built.get(key);
    if (!apm) {
      apm = apmFromSource(chosen.choice.source, chosen.source, chosen.choice, this.env);
      this.built.set(key, apm);
    }
    return await apm.measure({
      ...query,
      repository: query.repository ?? query.service,
      service: chosen.choice.service ?? query.service,
    });
  }
}

/** Routes each artifact to the OCI registry when its repository chose `oci`. */
export class RoutedRegistry implements Registry {
  constructor(
    private readonly config: Readonly<Config>,
    private readonly local: Registry,
    private readonly oci: () => Registry,
  ) {}

  private pick(artifact: string): Registry {
    const repo = this.config.repositories.find((r) => r.name === artifact);
    return repo?.integrations.registry === 'oci' ? this.oci() : this.local;
  }

  upload(request: Parameters<Registry['upload']>[0]) {
    return this.pick(request.artifact).upload(request);
  }
  addTag(request: Parameters<Registry['addTag']>[0]) {
    return this.pick(request.artifact).addTag(request);
  }
  copy(request: Parameters<Registry['copy']>[0]) {
    return this.pick(request.artifact).copy(request);
  }
  resolve(request: Parameters<Registry['resolve']>[0]) {
    return this.pick(request.artifact).resolve(request);
  }
}

export function ociRegistryFromConfig(
  config: Readonly<Config>,
  stateDir: string,
  env: NodeJS.ProcessEnv,
): OrasRegistry {
  const registry = config.integrations.registry;
  if (!registry) {
    throw new UserError(
      'REGISTRY_NOT_CONFIGURED',
      'a repository chose integrations.registry "oci", but integrations.registry is not configured',
      'add integrations.registry with type "oci" and url, or set the repository\'s integrations.registry to "local"',
    );
  }
  const oras = findOras(env, projectRoot);
  if (!oras) {
    throw new UserError(
      'ORAS_NOT_FOUND',
      'the OCI registry adapter needs the oras CLI, which is not installed',
      'install it (go install oras.land/oras/cmd/oras@v1.3.6 with GOBIN=.tools/bin), put it on PATH, or set RELEASE_FLOW_ORAS_PATH',
    );
  }
  return new OrasRegistry({
    url: registry.url,
    devRepository: registry.devRepository,
    prodRepository: registry.prodRepository,
    artifactType: registry.artifactType,
    ...(registry.usernameEnv ? { usernameEnv: registry.usernameEnv } : {}),
    ...(registry.passwordEnv ? { passwordEnv: registry.passwordEnv } : {}),
    ...(registry.identityTokenEnv ? { identityTokenEnv: registry.identityTokenEnv } : {}),
    stateDir,
    oras,
    env,
  });
}

/** Every configured alert channel as an adapter. */
export function alertChannels(config: Readonly<Config>, env: NodeJS.ProcessEnv): AlertChannel[] {
  return Object.entries(config.integrations.alerts.channels).map(([name, channel]) =>
    channel.type === 'slack'
      ? new SlackChannel({
          name,
          webhookUrlEnv: channel.webhookUrlEnv,
          ...(channel.botTokenEnv ? { botTokenEnv: channel.botTokenEnv } : {}),
          ...(channel.channel ? { channel: channel.channel } : {}),
          apiUrl: channel.apiUrl,
          env,
        })
      : new PagerDutyChannel({
          name,
          routingKeyEnv: channel.routingKeyEnv,
          eventsUrl: channel.eventsUrl,
          changeEvents: channel.changeEvents,
          env,
        }),
  );
}

/** The channels of a team for a repository: the repository's own routes, else the global ones. */
export function alertRoute(config: Readonly<Config>) {
  return (team: string, repository: string | undefined): readonly string[] => {
    const repo = config.repositories.find((r) => r.name === repository);
    return repo?.integrations.alerts[team] ?? config.integrations.alerts.teams[team] ?? [];
  };
}

/** The local journal alone when no channel is configured; else the router in front of it. */
export function alertsFromConfig(options: {
  config: Readonly<Config>;
  stateDir: string;
  env: NodeJS.ProcessEnv;
  journal: Alerts;
  warn?: (message: string) => void;
  sleep?: (ms: number) => Promise<void>;
}): Alerts {
  const { config } = options;
  const channels = alertChannels(config, options.env);
  if (channels.length === 0) return options.journal;
  return new RoutedAlerts({
    journal: options.journal,
    deliveriesFile: path.join(options.stateDir, 'alert-deliveries.jsonl'),
    channels,
    route: alertRoute(config),
    attempts: config.integrations.alerts.attempts,
    backoffMs: parseDuration(config.integrations.alerts.backoff),
    ...(options.warn ? { warn: options.warn } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
  });
}
