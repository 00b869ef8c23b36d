/**
 * The configuration of the real integrations (docs/integrations.md "Integrations"): named APM sources, alert
 * channels routed per team, and an OCI registry, plus each repository's choice among them.
 * Nothing here is a secret: fields ending in `Env` name the environment variable that holds one.
 * A repository that names nothing keeps the local adapters.
 */
import { z } from 'zod';

const duration = z
  .string()
  .regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'expected a duration such as "30s", "5m" or "2h"');

const httpUrl = z
  .string()
  .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, 'expected an http(s) URL such as "http://127.0.0.1:9090"');

const envName = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]*$/, 'expected the name of an environment variable such as "PROMETHEUS_TOKEN"');

/** The name of a source or channel: how repositories and teams refer to it. */
export const integrationName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected a lowercase name such as "prometheus" or "ops-pager"');

/** Credentials read from the environment: a bearer token, or a user and password (basic). */
const httpAuth = z
  .strictObject({
    bearerTokenEnv: envName.optional(),
    usernameEnv: envName.optional(),
    passwordEnv: envName.optional(),
  })
  .optional();

/**
 * Client libraries create a labelled series on its first increment, so a service that has never
 * failed has no 5xx series and the first half answers nothing. The `or` half then answers 0, but
 * only when the service's request series exist: a metric or label that matches nothing at all
 * (a typo, a service never scraped) still answers empty, a failed query, never zero errors.
 */
export const DEFAULT_PROMETHEUS_ERROR_QUERY =
  'sum(increase(http_requests_total{service="{service}",environment="{environment}",code=~"5.."}[{interval}]))' +
  ' or (0 * sum(increase(http_requests_total{service="{service}",environment="{environment}"}[{interval}])))';
export const DEFAULT_PROMETHEUS_REQUEST_QUERY =
  'sum(increase(http_requests_total{service="{service}",environment="{environment}"}[{interval}]))';

const prometheusSource = z.strictObject({
  type: z.literal('prometheus'),
  /** The server's root (`http://prometheus:9090`); queries go to `<url>/api/v1/query`. */
  url: httpUrl,
  /** PromQL templates: {repository} {environment} {version} {service} {interval}. */
  errorQuery: z.string().min(1).default(DEFAULT_PROMETHEUS_ERROR_QUERY),
  requestQuery: z.string().min(1).default(DEFAULT_PROMETHEUS_REQUEST_QUERY),
  /** What errorQuery answers: a count over the interval, or the share of requests that failed. */
  errorsAs: z.enum(['count', 'ratio']).default('count'),
  timeout: duration.default('10s'),
  auth: httpAuth,
});

const datadogSource = z.strictObject({
  type: z.literal('datadog'),
  /** `datadoghq.com`, `datadoghq.eu`, `us5.datadoghq.com` ...; queries go to `https://api.<site>`. */
  site: z
    .string()
    .regex(/^[a-z0-9.-]+$/, 'expected a Datadog site such as "datadoghq.com" or "datadoghq.eu"')
    .default('datadoghq.com'),
  /** Overrides `https://api.<site>` (a proxy). */
  apiUrl: httpUrl.optional(),
  /** Metric query templates, placeholders as for Prometheus. */
  errorQuery: z.string().min(1),
  requestQuery: z.string().min(1),
  errorsAs: z.enum(['count', 'ratio']).default('count'),
  /**
   * An error query that matches no series (a service that has never failed): `zero` errors when
   * the request query answered and the metrics the error query names exist, else `failed`.
   */
  noErrorSeries: z.enum(['zero', 'failed']).default('zero'),
  timeout: duration.default('10s'),
  apiKeyEnv: envName.default('DATADOG_API_KEY'),
  appKeyEnv: envName.default('DATADOG_APP_KEY'),
});

const apmSource = z.discriminatedUnion('type', [prometheusSource, datadogSource], {
  error: 'expected type "prometheus" or "datadog"',
});

const slackChannel = z.strictObject({
  type: z.literal('slack'),
  /** Incoming webhook: the URL is the secret, read from this variable. */
  webhookUrlEnv: envName.default('SLACK_WEBHOOK_URL'),
  /** Web API instead of the webhook (re-alerts thread under the first message): the bot token's variable. */
  botTokenEnv: envName.optional(),
  /** The channel chat.postMessage posts to (`#releases`, `C0123`), with botTokenEnv. */
  channel: z.string().min(1).optional(),
  /** The Web API's root, with botTokenEnv. */
  apiUrl: httpUrl.default('https://slack.com/api'),
});

const pagerdutyChannel = z.strictObject({
  type: z.literal('pagerduty'),
  /** The Events API v2 integration key's variable. */
  routingKeyEnv: envName.default('PAGERDUTY_ROUTING_KEY'),
  eventsUrl: httpUrl.default('https://events.pagerduty.com'),
  /** A change event for every production deploy and rollback. */
  changeEvents: z.boolean().default(true),
});

const alertChannel = z.discriminatedUnion('type', [slackChannel, pagerdutyChannel], {
  error: 'expected type "slack" or "pagerduty"',
});

/** Team name -> the channels its alerts go to. */
const teamRoutes = z.record(z.string().min(1), z.array(integrationName).min(1));

const ociRegistry = z.strictObject({
  type: z.literal('oci'),
  /** `host:port`, or a URL whose scheme says whether it speaks https (default) or plain http. */
  url: z
    .string()
    .regex(
      /^(https?:\/\/)?[A-Za-z0-9.-]+(:\d+)?\/?$/,
      'expected a registry such as "registry.example.com" or "http://127.0.0.1:5000"',
    ),
  /** Repository names, `{artifact}` being the source repository's name in lowercase. */
  devRepository: z.string().min(1).default('release-flow/dev/{artifact}'),
  prodRepository: z.string().min(1).default('release-flow/prod/{artifact}'),
  /** Basic credentials (the registry's token service turns them into bearer tokens), or an identity token. */
  usernameEnv: envName.optional(),
  passwordEnv: envName.optional(),
  identityTokenEnv: envName.optional(),
  /** The artifact's media type in the manifest. */
  artifactType: z.string().min(1).default('application/vnd.release-flow.artifact.v1'),
});

export const integrationsSchema = z
  .strictObject({
    apm: z.record(integrationName, apmSource).default({}),
    alerts: z
      .strictObject({
        channels: z.record(integrationName, alertChannel).default({}),
        /** Which channels each team's alerts go to; the alert journal always records them too. */
        teams: teamRoutes.default({}),
        /** Attempts per channel before it is marked down for that alert. */
        attempts: z.number().int().min(1).max(10).default(3),
        /** Pause before the second attempt; doubled each time, a 429's Retry-After wins. */
        backoff: duration.default('1s'),
      })
      .prefault({}),
    registry: ociRegistry.optional(),
  })
  .prefault({});

const apmChoice = z.strictObject({
  /** A name under integrations.apm. */
  source: integrationName,
  /** The service as the APM knows it (default: the repository's name). */
  service: z.string().min(1).optional(),
  errorQuery: z.string().min(1).optional(),
  requestQuery: z.string().min(1).optional(),
});

export const repositoryIntegrationsSchema = z
  .strictObject({
    /** Environment (`production`, `staging`, `dev`) -> the APM source that watches it. */
    apm: z
      .strictObject({
        dev: apmChoice.optional(),
        staging: apmChoice.optional(),
        production: apmChoice.optional(),
      })
      .prefault({}),
    /** `oci`: the registry under integrations.registry; `local` (default): the state folder. */
    registry: z.enum(['local', 'oci']).default('local'),
    /** Team -> channels for this repository, replacing integrations.alerts.teams for those teams. */
    alerts: teamRoutes.default({}),
  })
  .prefault({});

export type IntegrationsConfig = z.output<typeof integrationsSchema>;
export type RepositoryIntegrations = z.output<typeof repositoryIntegrationsSchema>;
export type ApmSourceConfig = IntegrationsConfig['apm'][string];
export type PrometheusSourceConfig = Extract<ApmSourceConfig, { type: 'prometheus' }>;
export type DatadogSourceConfig = Extract<ApmSourceConfig, { type: 'datadog' }>;
export type AlertChannelConfig = IntegrationsConfig['alerts']['channels'][string];
export type SlackChannelConfig = Extract<AlertChannelConfig, { type: 'slack' }>;
export type PagerDutyChannelConfig = Extract<AlertChannelConfig, { type: 'pagerduty' }>;
export type OciRegistryConfig = NonNullable<IntegrationsConfig['registry']>;
