/**
 * The second line behind the sandbox (docs/threat-model.md): whatever an activity returns or
 * throws leaves the worker only with every secret value masked, with its base64 forms. Results
 * and failures become workflow history, status queries, commit statuses and alerts, so this is
 * the one place all of them pass.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import { maskDeep, maskSecrets } from '../common/secrets';

function maskError(err: unknown, env: NodeJS.ProcessEnv): unknown {
  if (err instanceof ApplicationFailure) {
    const masked = ApplicationFailure.create({
      message: maskSecrets(err.message, env),
      ...(err.type ? { type: err.type } : {}),
      nonRetryable: err.nonRetryable === true,
      details: maskDeep(err.details ? [...err.details] : undefined, env),
      ...(err.nextRetryDelay !== undefined ? { nextRetryDelay: err.nextRetryDelay } : {}),
      ...(err.category ? { category: err.category } : {}),
      ...(err.cause ? { cause: maskError(err.cause, env) as Error } : {}),
    });
    if (err.stack) masked.stack = maskSecrets(err.stack, env);
    return masked;
  }
  if (err instanceof Error) {
    err.message = maskSecrets(err.message, env);
    if (err.stack) err.stack = maskSecrets(err.stack, env);
    const withDetails = err as Error & { details?: unknown };
    if (withDetails.details !== undefined) {
      try {
        withDetails.details = maskDeep(withDetails.details, env);
      } catch {
        // read-only details (a DefinitiveFailure's): its message is masked, definitive() copies the rest
      }
    }
    return err;
  }
  return typeof err === 'string' ? maskSecrets(err, env) : err;
}

/** Activity interceptor factory masking results and failures with the secrets in `env`. */
export function maskingInterceptor(env: NodeJS.ProcessEnv = process.env): ActivityInterceptorsFactory {
  const inbound: ActivityInboundCallsInterceptor = {
    async execute(input, next) {
      try {
        return maskDeep(await next(input), env);
      } catch (err) {
        throw maskError(err, env);
      }
    },
  };
  return () => ({ inbound });
}
