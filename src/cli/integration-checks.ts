/**
 * `release-flow doctor`'s checks of the configured integrations (docs/integrations.md "Integrations"): every
 * APM source answers each repository's queries, the OCI registry answers `/v2/` and oras is
 * installed, every alert channel has its settings; with `--send-test-alert`, one test message
 * per channel. Each check is one line; secrets never appear (masked).
 */
import { findOras } from '../adapters/oci/oras-registry';
import type { Config } from '../config/schema';
import { maskSecrets } from '../common/secrets';
import { alertChannels, apmFromSource, ociRegistryFromConfig } from '../composition/integration-ports';
import { projectRoot } from '../common/package-info';

export interface IntegrationCheck {
  /** `apm`, `registry`, `alerts`. */
  kind: string;
  name: string;
  ok: boolean;
  detail: string;
}

function message(err: unknown): string {
  return maskSecrets(err instanceof Error ? err.message : String(err));
}

export async function checkIntegrations(
  config: Readonly<Config>,
  options: { env: NodeJS.ProcessEnv; stateDir: string; sendTestAlert?: boolean; now?: () => number },
): Promise<IntegrationCheck[]> {
  const { env } = options;
  const checks: IntegrationCheck[] = [];
  const now = options.now ?? Date.now;

  for (const [name, source] of Object.entries(config.integrations.apm)) {
    const users = config.repositories.flatMap((repo) =>
      (['dev', 'staging', 'production'] as const).flatMap((environment) => {
        const choice = repo.integrations.apm[environment];
        return choice?.source === name ? [{ repo, environment, choice }] : [];
      }),
    );
    if (users.length === 0) {
      checks.push({
        kind: 'apm',
        name,
        ok: true,
        detail: `${source.type}: configured, used by no repository`,
      });
      continue;
    }
    for (const { repo, environment, choice } of users) {
      const apm = apmFromSource(name, source, choice, env);
      const to = now();
      try {
        const s = await apm.measure({
          env: environment,
          service: choice.service ?? repo.name,
          repository: repo.name,
          from: to - 60_000,
          to,
        });
        checks.push({
          kind: 'apm',
          name,
          ok: true,
          detail: `${source.type} answers ${repo.name} ${environment}: ${s.requests} requests, ${s.errors} errors in the last minute`,
        });
      } catch (err) {
        checks.push({ kind: 'apm', name, ok: false, detail: `${repo.name} ${environment}: ${message(err)}` });
      }
    }
  }

  if (config.integrations.registry) {
    const name = config.integrations.registry.url;
    if (!findOras(env, projectRoot)) {
      checks.push({
        kind: 'registry',
        name,
        ok: false,
        detail:
          'oras not found (fix: GOBIN=.tools/bin go install oras.land/oras/cmd/oras@v1.3.6, or set RELEASE_FLOW_ORAS_PATH)',
      });
    } else {
      try {
        const detail = await ociRegistryFromConfig(config, options.stateDir, env).ping();
        checks.push({ kind: 'registry', name, ok: true, detail });
      } catch (err) {
        checks.push({ kind: 'registry', name, ok: false, detail: message(err) });
      }
    }
  }

  const routed = new Set([
    ...Object.values(config.integrations.alerts.teams).flat(),
    ...config.repositories.flatMap((r) => Object.values(r.integrations.alerts).flat()),
  ]);
  for (const channel of alertChannels(config, env)) {
    const problems = channel.problems();
    if (problems.length) {
      checks.push({
        kind: 'alerts',
        name: channel.name,
        ok: false,
        detail: `${channel.type}: ${problems.join('; ')}`,
      });
      continue;
    }
    const teams = routed.has(channel.name) ? '' : ' (no team routes to it)';
    if (!options.sendTestAlert) {
      checks.push({
        kind: 'alerts',
        name: channel.name,
        ok: true,
        detail: `${channel.type}: settings complete${teams}`,
      });
      continue;
    }
    try {
      await channel.sendTest();
      checks.push({
        kind: 'alerts',
        name: channel.name,
        ok: true,
        detail: `${channel.type}: test message sent${teams}`,
      });
    } catch (err) {
      checks.push({
        kind: 'alerts',
        name: channel.name,
        ok: false,
        detail: `${channel.type}: test message failed: ${message(err)}`,
      });
    }
  }
  return checks;
}
