/**
 * Programmatic starts used by the CLI, the HTTP server and (later) the webhook receiver: each
 * function derives the workflow id from business keys so a repeated call finds the same run.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { readinessWorkflow } from './workflows/readiness-workflow';

/** Start a readiness probe and wait for its answer (used by GET /readyz). */
export async function runReadinessProbe(
  client: Client,
  taskQueue: string,
  timeoutMs: number,
): Promise<{ answeredBy: string }> {
  const probeId = randomUUID();
  return await client.workflow.execute(readinessWorkflow, {
    workflowId: `release-flow-readiness-${probeId}`,
    taskQueue,
    args: [{ probeId }],
    workflowExecutionTimeout: timeoutMs,
  });
}
