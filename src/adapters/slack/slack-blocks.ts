/**
 * An alert as a Slack Block Kit message: what happened, where (repository, version,
 * environment), the verdict with its figures, the run's link, the decision buttons and the exact
 * decision commands. `text` is the notification fallback Slack shows where blocks are not.
 *
 * The buttons' `action_id`s and `value`s are the contract with the interactions endpoint
 * (docs/integrations.md "Alerts: Slack and PagerDuty"): `release-flow:emergency`, `release-flow:rollback`, `release-flow:fail-forward`,
 * each value the JSON `{"workflowId","repository","version"}`.
 */
import type { Alert } from '../../ports/alerts';
import { decisionActionsBlock } from './decision-actions';

const DECISION_KINDS = new Set(['decision-needed', 'escalation']);

type Block = Record<string, unknown>;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Slack's mrkdwn needs &, < and > escaped in text it did not write. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const SEVERITY_MARK = { critical: ':rotating_light:', warning: ':warning:', info: ':information_source:' };

export function slackMessage(
  alert: Alert,
  options: { reminder?: boolean } = {},
): { text: string; blocks: Block[] } {
  const fields = [
    ['Repository', alert.repository],
    ['Version', alert.version],
    ['Environment', alert.env],
    ['Verdict', alert.verdict],
    ['Team', alert.team],
    ['Severity', alert.severity],
  ]
    .filter((f): f is [string, string] => !!f[1])
    .map(([label, value]) => ({ type: 'mrkdwn', text: `*${label}*\n${escapeMrkdwn(clip(value, 200))}` }));
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(alert.title, 150), emoji: true } },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: clip(`${SEVERITY_MARK[alert.severity]} ${escapeMrkdwn(alert.text)}`, 3000),
      },
    },
  ];
  if (fields.length) blocks.push({ type: 'section', fields: fields.slice(0, 10) });
  if (alert.links.length) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: clip(alert.links.map((l) => `<${l.url}|${escapeMrkdwn(l.title)}>`).join('  ·  '), 3000),
      },
    });
  }
  if (alert.workflowId && alert.repository && alert.version && alert.kind && DECISION_KINDS.has(alert.kind)) {
    blocks.push({
      ...decisionActionsBlock({
        workflowId: alert.workflowId,
        repository: alert.repository,
        version: alert.version,
      }),
    });
  }
  if (alert.commands.length) {
    const lines = alert.commands.map((c) => `# ${c.label}\n${c.command}`).join('\n');
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: clip(`*Decide with:*\n\`\`\`${lines}\`\`\``, 3000) },
    });
  }
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: clip(`release-flow · ${escapeMrkdwn(alert.key)}`, 300) }],
  });
  const prefix = options.reminder ? 'Reminder: ' : '';
  return { text: clip(`${prefix}${alert.title}`, 3000), blocks };
}
