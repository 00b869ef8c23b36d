/**
 * How release-flow reaches Temporal. With TEMPORAL_ADDRESS (or a profile in the Temporal
 * config file, TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE) it joins that cluster, with namespace,
 * TLS and API key read by @temporalio/envconfig exactly as the `temporal` CLI reads them.
 * Without an address, the caller starts the embedded dev server and passes its address here.
 */
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { UserError } from '../common/errors';

export interface TemporalTarget {
  address: string;
  namespace: string;
  connectionOptions: NativeConnectionOptions;
  /** True when the address came from the environment (an existing cluster). */
  external: boolean;
}

/** The cluster named by the environment, or undefined when none is (then: embedded). */
export function externalTarget(env: NodeJS.ProcessEnv = process.env): TemporalTarget | undefined {
  let loaded;
  try {
    loaded = loadClientConnectConfig({ overrideEnvVars: env as Record<string, string> });
  } catch (err) {
    throw new UserError(
      'TEMPORAL_CONFIG_INVALID',
      `cannot read the Temporal client configuration: ${err instanceof Error ? err.message : String(err)}`,
      'check TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE and the TLS file paths',
    );
  }
  const address = loaded.connectionOptions.address;
  if (!address) return undefined;
  return {
    address,
    namespace: loaded.namespace ?? 'default',
    connectionOptions: loaded.connectionOptions,
    external: true,
  };
}

export function embeddedTarget(address: string, namespace = 'default'): TemporalTarget {
  return { address, namespace, connectionOptions: { address }, external: false };
}

export interface RetryOptions {
  /** Give up after this long (bounded: a wrong address must not hang forever). */
  timeoutMs: number;
  onRetry?: (attempt: number, delayMs: number, err: unknown) => void;
}

async function withBackoff<T>(
  target: TemporalTarget,
  what: string,
  fn: () => Promise<T>,
  retry: RetryOptions,
): Promise<T> {
  const deadline = Date.now() + retry.timeoutMs;
  let delay = 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new UserError(
          'TEMPORAL_UNREACHABLE',
          `cannot reach Temporal at ${target.address} (${what}) after ${Math.round(retry.timeoutMs / 1000)}s: ${
            err instanceof Error ? err.message.split('\n')[0] : String(err)
          }`,
          'check TEMPORAL_ADDRESS (host:port), network and TLS settings, or unset it to use the embedded dev server',
        );
      }
      const wait = Math.min(delay, remaining);
      retry.onRetry?.(attempt, wait, err);
      await new Promise((r) => setTimeout(r, wait));
      delay = Math.min(delay * 2, 5_000);
    }
  }
}

export async function connectNative(target: TemporalTarget, retry: RetryOptions): Promise<NativeConnection> {
  return await withBackoff(
    target,
    'worker connection',
    () => NativeConnection.connect(target.connectionOptions),
    retry,
  );
}

export async function connectClient(target: TemporalTarget, retry: RetryOptions): Promise<Client> {
  const { address, tls, apiKey, metadata } = target.connectionOptions;
  const connection = await withBackoff(
    target,
    'client connection',
    async () => {
      const conn = await Connection.connect({ address, tls, apiKey, metadata, connectTimeout: 5_000 });
      // connect() is lazy about some failures; one cheap call proves the server answers.
      await conn.workflowService.getSystemInfo({});
      return conn;
    },
    retry,
  );
  return new Client({ connection, namespace: target.namespace });
}
