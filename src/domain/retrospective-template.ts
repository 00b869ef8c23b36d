/**
 * The retrospective page created for `HOT-<n>` and `ROLLBACK-<n>` (seed: "create wiki page ...
 * with retrospective template"): summary, impact, the timeline from the release's own events,
 * the decision and who made it, and follow-ups left for the team to fill.
 */
import type { IncidentKind } from './incident-ids';

export interface ReleaseEvent {
  /** Epoch milliseconds. */
  at: number;
  /** What happened, one line (`deployed v1.4.0 to production`). */
  what: string;
  /** Who or what did it (a person, or `release-flow`). */
  by?: string;
}

export interface IncidentDecision {
  /** `emergency`, `rollback` or `fail-forward`. */
  name: string;
  by: string;
  at: number;
  reason?: string;
}

export interface RetrospectiveInput {
  id: string;
  kind: IncidentKind;
  repository: string;
  /** The version that broke production. */
  version: string;
  /** The production version before it, when there was one. */
  previousVersion?: string | null;
  /** The health verdict's reason, e.g. "error rate above 5% in 3 samples in a row". */
  trigger: string;
  decision: IncidentDecision;
  events: readonly ReleaseEvent[];
  /** Links a reader needs: workflow, alert, ticket. */
  links?: readonly { title: string; url: string }[];
}

// ISO times in UTC: a page read across time zones must not shift the timeline.
function time(at: number): string {
  return new Date(at).toISOString().replace('.000Z', 'Z');
}

// Markdown table cells cannot hold pipes or newlines.
function cell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

export function renderRetrospective(input: RetrospectiveInput): string {
  const what = input.kind === 'HOT' ? 'Emergency hotfix' : 'Rollback';
  const events = [...input.events].sort((a, b) => a.at - b.at);
  const lines = [
    `# ${input.id}: ${what} of ${input.repository} ${input.version}`,
    '',
    '## Summary',
    '',
    `- Repository: ${input.repository}`,
    `- Version: ${input.version}${input.previousVersion ? ` (previous production version: ${input.previousVersion})` : ''}`,
    `- Trigger: ${input.trigger}`,
    `- Decision: **${input.decision.name}** by ${input.decision.by} at ${time(input.decision.at)}`,
    `- Reason given: ${input.decision.reason?.trim() || '(none given)'}`,
    '',
    '_What happened, in two or three sentences: to be written by the team._',
    '',
    '## Impact',
    '',
    '- Users affected: _to be filled_',
    `- Duration: from ${time(events[0]?.at ?? input.decision.at)} until _resolution_`,
    '- Data or money lost: _to be filled_',
    '',
    '## Timeline (UTC)',
    '',
    '| Time | Event | By |',
    '| --- | --- | --- |',
    ...events.map((e) => `| ${time(e.at)} | ${cell(e.what)} | ${cell(e.by ?? 'release-flow')} |`),
    '',
    '## Decision',
    '',
    `${input.decision.by} chose **${input.decision.name}** at ${time(input.decision.at)}.`,
    '',
    '## Root cause',
    '',
    '_to be filled_',
    '',
    '## Follow-ups',
    '',
    '- [ ] _action, owner, due date_',
  ];
  if (input.links?.length) {
    lines.push('', '## Links', '', ...input.links.map((l) => `- [${l.title}](${l.url})`));
  }
  return `${lines.join('\n')}\n`;
}
