/**
 * The three decision buttons of a Slack breach alert, as a Block Kit `actions` block. Pure: the
 * Slack alert adapter puts it in the message, and `POST /slack/interactions` (src/http/
 * slack-interactions.ts) reads back exactly these `action_id`s and `value`s.
 */

/** Which release a button decides on; the `value` of every button, as a JSON string. */
export interface DecisionTarget {
  workflowId: string;
  repository: string;
  version: string;
}

export const DecisionActionIds = {
  emergency: 'release-flow:emergency',
  rollback: 'release-flow:rollback',
  failForward: 'release-flow:fail-forward',
} as const;
export type DecisionActionId = (typeof DecisionActionIds)[keyof typeof DecisionActionIds];

/** `action_id` -> the production workflow's decision name. */
export const DECISION_OF_ACTION: Readonly<
  Record<DecisionActionId, 'emergency' | 'rollback' | 'failForward'>
> = {
  [DecisionActionIds.emergency]: 'emergency',
  [DecisionActionIds.rollback]: 'rollback',
  [DecisionActionIds.failForward]: 'failForward',
};

export interface SlackButton {
  type: 'button';
  action_id: DecisionActionId;
  text: { type: 'plain_text'; text: string; emoji?: boolean };
  value: string;
  style?: 'danger' | 'primary';
  confirm?: {
    title: { type: 'plain_text'; text: string };
    text: { type: 'mrkdwn'; text: string };
    confirm: { type: 'plain_text'; text: string };
    deny: { type: 'plain_text'; text: string };
    style?: 'danger' | 'primary';
  };
}

export interface DecisionActionsBlock {
  type: 'actions';
  block_id: string;
  elements: SlackButton[];
}

/** Slack caps a button's value at 2000 characters and a block_id at 255. */
const MAX_VALUE = 2000;

export function decisionActionsBlock(target: DecisionTarget): DecisionActionsBlock {
  const value = JSON.stringify({
    workflowId: target.workflowId,
    repository: target.repository,
    version: target.version,
  });
  if (value.length > MAX_VALUE) throw new RangeError(`button value is longer than ${MAX_VALUE} characters`);
  // Slack's mrkdwn reads &, < and > as markup.
  const release = `${target.repository} ${target.version}`
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
  return {
    type: 'actions',
    block_id: `release-flow:decision:${target.workflowId}`.slice(0, 255),
    elements: [
      {
        type: 'button',
        action_id: DecisionActionIds.emergency,
        text: { type: 'plain_text', text: 'Emergency' },
        value,
        style: 'danger',
        confirm: {
          title: { type: 'plain_text', text: 'Declare an emergency?' },
          text: {
            type: 'mrkdwn',
            text: `SEV-1 for *${release}*: pages operations, takes staging from whoever holds it, opens a HOT incident and its branch.`,
          },
          confirm: { type: 'plain_text', text: 'Declare emergency' },
          deny: { type: 'plain_text', text: 'Cancel' },
          style: 'danger',
        },
      },
      {
        type: 'button',
        action_id: DecisionActionIds.rollback,
        text: { type: 'plain_text', text: 'Rollback' },
        value,
        style: 'primary',
      },
      {
        type: 'button',
        action_id: DecisionActionIds.failForward,
        text: { type: 'plain_text', text: 'Fail forward' },
        value,
      },
    ],
  };
}
