/**
 * Taking a decision for a person the board or Slack has identified: the production workflow's
 * `decide` update with `by` set to that person, so the workflow's own rules (awaited, once,
 * `deciders`) answer. Shared by the board and the Slack door so both say the same things.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { decisionRejection } from '../../domain/production-decisions';
import { anyPipelineStatusQuery as statusQuery } from '../../workflows/pipeline-status';
import { decideUpdate, type Decision, type DecisionRecord } from '../../workflows/production/messages';

export interface DecideCommand {
  workflowId: string;
  decision: Decision;
  by: string;
  reason?: string;
}

export type DecideOutcome =
  { accepted: true; decision: DecisionRecord } | { accepted: false; reason: string; status: number };

export const PRODUCTION_PREFIX = 'production:';

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

export async function decide(client: Client, command: DecideCommand): Promise<DecideOutcome> {
  if (!command.workflowId.startsWith(PRODUCTION_PREFIX)) {
    return { accepted: false, status: 400, reason: `${command.workflowId} is not a production release` };
  }
  const handle = client.workflow.getHandle(command.workflowId);
  try {
    const record = await handle.executeUpdate(decideUpdate, {
      args: [
        {
          decision: command.decision,
          by: command.by,
          ...(command.reason?.trim() ? { reason: command.reason.trim() } : {}),
        },
      ],
    });
    return { accepted: true, decision: record };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const why = (err as Error & { cause?: Error }).cause?.message ?? err.message;
      return { accepted: false, status: 409, reason: why };
    }
    // An update cannot reach a run that has ended; its status says whether it was decided.
    const status = await handle.query(statusQuery).catch(() => undefined);
    if (status) {
      const taken = status.decisions?.[status.decisions.length - 1];
      const why = taken
        ? decisionRejection({ awaiting: false, taken, notAwaitedBecause: '' }, undefined, {
            decision: command.decision,
            by: command.by,
          })
        : null;
      return {
        accepted: false,
        status: 409,
        reason: why ?? `no decision is awaited: the release has ended (${status.state})`,
      };
    }
    if (err instanceof WorkflowNotFoundError) {
      return { accepted: false, status: 404, reason: `no production release ${command.workflowId}` };
    }
    return { accepted: false, status: 503, reason: `Temporal did not answer: ${firstLine(err)}` };
  }
}
