/**
 * The boundary between ports and Temporal: a port's definitive refusal becomes a non-retryable
 * ApplicationFailure whose `type` the workflow branches on; anything else stays a plain error
 * and the activity's retry policy handles it.
 */
import { ApplicationFailure } from '@temporalio/common';
import { isDefinitiveFailure } from '../ports/failures';

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
