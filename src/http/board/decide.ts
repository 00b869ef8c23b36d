/**
 * Taking a decision for a person the board or Slack has identified: starter.ts's `sendDecision`
 * with `by` set to that person, its answer mapped to the HTTP status the board replies with.
 * Shared by the board and the Slack door so both say the same things.
 */
import type { Client } from '@temporalio/client';
import { sendDecision } from '../../starter';
import type { Decision, DecisionRecord } from '../../workflows/production/messages';

export interface DecideCommand {
  workflowId: string;
  decision: Decision;
  by: string;
  reason?: string;
}

export type DecideOutcome =
  { accepted: true; decision: DecisionRecord } | { accepted: false; reason: string; status: number };

export const PRODUCTION_PREFIX = 'production:';

const HTTP_STATUS = { rejected: 409, 'not-found': 404, unavailable: 503 } as const;

export async function decide(client: Client, command: DecideCommand): Promise<DecideOutcome> {
  if (!command.workflowId.startsWith(PRODUCTION_PREFIX)) {
    return { accepted: false, status: 400, reason: `${command.workflowId} is not a production release` };
  }
  const reason = command.reason?.trim();
  const answer = await sendDecision(client, command.workflowId, {
    decision: command.decision,
    by: command.by,
    ...(reason ? { reason } : {}),
  });
  if (answer.accepted) return answer;
  return { accepted: false, status: HTTP_STATUS[answer.refusal], reason: answer.reason };
}
