/**
 * Activity option presets the pipelines share. Each stage proxies its activities with these
 * (and adds what only it needs, such as cancellation that waits for a revoked holder's work to
 * stop); every call then names itself with `executeWithOptions({ summary }, ...)`, which the
 * Temporal UI shows beside the step.
 */
import type { ActivityOptions } from '@temporalio/workflow';
import { FailureTypes } from '../../domain/failures';

/** Short calls (deploy commands, registry, git, alerts): retried for a while on transient trouble. */
export const quickCalls = {
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 10, initialInterval: '2 seconds' },
} as const satisfies ActivityOptions;

/** Builds and test runs: long, heartbeating; a failed build or test is final. */
export const buildCalls = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [FailureTypes.buildFailed, FailureTypes.testsFailed] },
} as const satisfies ActivityOptions;
