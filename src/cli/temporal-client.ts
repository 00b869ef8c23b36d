/**
 * How CLI commands reach Temporal: TEMPORAL_ADDRESS (and the usual TEMPORAL_* variables) when
 * set, else the embedded dev server that `npm start` runs (its port from the config file).
 */
import type { Client } from '@temporalio/client';
import type { Config } from '../config/schema';
import { loadConfig } from '../config/load';
import { UserError } from '../common/errors';
import { connectClient, embeddedTarget, externalTarget } from '../temporal/connection';

export interface CliTemporal {
  client: Client;
  config: Readonly<Config>;
  namespace: string;
}

export async function withTemporalClient<T>(
  opts: { configFile?: string; timeoutMs?: number },
  fn: (t: CliTemporal) => Promise<T>,
): Promise<T> {
  const { config } = loadConfig({ file: opts.configFile });
  const target = externalTarget() ?? embeddedTarget(`127.0.0.1:${config.temporal.devServer.port}`);
  let client: Client;
  try {
    client = await connectClient(target, { timeoutMs: opts.timeoutMs ?? 5_000 });
  } catch (err) {
    if (err instanceof UserError && !target.external) {
      throw new UserError(
        'TEMPORAL_UNREACHABLE',
        `no Temporal server at ${target.address}`,
        'start release-flow with `npm start` (embedded server), or set TEMPORAL_ADDRESS to your cluster',
      );
    }
    throw err;
  }
  try {
    return await fn({ client, config, namespace: target.namespace });
  } finally {
    await client.connection.close();
  }
}
