/**
 * The boundary between ports and Temporal: a port's definitive refusal becomes a non-retryable
 * ApplicationFailure whose `type` the workflow branches on; anything else stays a plain error
 * and the activity's retry policy handles it.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import { isDefinitiveAccessError } from '../adapters/github/access-errors';
import { isUserError } from '../common/errors';
import { isDefinitiveFailure } from '../domain/failures';

export async function definitive<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isDefinitiveFailure(err)) {
      throw ApplicationFailure.nonRetryable(err.message, err.type, { ...err.details });
    }
    throw err;
  }
}

/**
 * GitHub refusing the token (401) or a permission (403) fails the activity at once, naming what
 * to grant: whichever activity made the call, retrying cannot change the token's rights.
 */
export function definitiveAccessInterceptor(): ActivityInterceptorsFactory {
  const inbound: ActivityInboundCallsInterceptor = {
    async execute(input, next) {
      try {
        return await next(input);
      } catch (err) {
        if (isDefinitiveAccessError(err)) {
          throw ApplicationFailure.nonRetryable(err.render(), 'GitHubAccessDenied', {
            status: err.status,
            permission: err.permission,
          });
        }
        if (isUserError(err) && err.code === 'GITHUB_APP_REJECTED') {
          throw ApplicationFailure.nonRetryable(err.render(), 'GitHubAccessDenied', { status: 401 });
        }
        throw err;
      }
    },
  };
  return () => ({ inbound });
}
