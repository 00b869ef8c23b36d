/**
 * Pages about a production release whose health needs a person (docs/pipelines-and-decisions.md "The pipelines"): the
 * development team is asked for a decision (and asked again), operations are escalated to, and
 * an emergency pages operations at once. Each page carries the exact commands that decide and
 * who may use them. The workflow derives `key` from its id, run and round, so a page is sent once.
 */
import { activityInfo } from '@temporalio/activity';
import { decisionCommands, type AlertCommand, type AlertReceipt, type AlertSeverity } from '../ports/alerts';
import type { AlertDelivery, Alerts } from '../ports/alerts';
import { workflowUrl } from '../common/ui-links';
import { definitive } from './definitive';

export interface ProductionAlertPorts {
  alerts: Alerts;
  uiUrl?: string;
}

export const ReleasePageKinds = {
  /** To the development team: production needs a decision (round 1, 2, ...). */
  decisionNeeded: 'decision-needed',
  /** To operations: no decision arrived in time. */
  escalation: 'escalation',
  /** To operations: an emergency was declared. */
  emergency: 'emergency',
} as const;
export type ReleasePageKind = (typeof ReleasePageKinds)[keyof typeof ReleasePageKinds];

export interface ReleasePage {
  key: string;
  kind: ReleasePageKind;
  team: string;
  repository: string;
  version: string;
  /** The health verdict (`breach`, `inconclusive`, `not-enough-data`) and its reason. */
  verdict: string;
  reason: string;
  /** Round of the development page (1 = first). */
  round?: number;
  /** How long the decision has been awaited, ms. */
  waitedMs?: number;
  /** The emergency's decision. */
  decision?: { by: string; reason?: string; at: string };
  /** Who may take each decision, in words (`anyone`, `alice, team:sre (bob)`). */
  deciders: { emergency: string; rollback: string; failForward: string };
}

/** How long a decision has been awaited, in the unit a person reads: `45 seconds`, `1 minute`, `3 hours`. */
export function waitedText(ms: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  const s = Math.round(ms / 1000);
  if (s < 60) return plural(s, 'second');
  const m = Math.round(ms / 60_000);
  return m >= 120 ? plural(Math.round(m / 60), 'hour') : plural(m, 'minute');
}

function title(page: ReleasePage): string {
  const subject = `${page.repository} ${page.version}`;
  const health =
    page.verdict === 'breach'
      ? 'error rate above the threshold in production'
      : `production health ${page.verdict}`;
  switch (page.kind) {
    case ReleasePageKinds.emergency:
      return `SEV-1 ${subject}: emergency declared by ${page.decision?.by ?? 'unknown'}`;
    case ReleasePageKinds.escalation:
      return `ESCALATED ${subject}: ${health}, no decision after ${waitedText(page.waitedMs ?? 0)}`;
    default:
      return (page.round ?? 1) > 1
        ? `STILL WAITING ${subject}: ${health}, decide now (reminder ${(page.round ?? 1) - 1})`
        : `${subject}: ${health}, decide: emergency, rollback or fail forward`;
  }
}

export function createProductionAlertActivities(ports: ProductionAlertPorts) {
  return {
    /** Sends one page about a release in production (once per key). */
    async pageReleaseAlert(page: ReleasePage): Promise<AlertReceipt> {
      const info = activityInfo();
      const workflowId = info.workflowExecution?.workflowId ?? 'unknown';
      const severity: AlertSeverity =
        page.kind === ReleasePageKinds.decisionNeeded && page.verdict !== 'breach' ? 'warning' : 'critical';
      const status: AlertCommand = {
        label: 'see the release status',
        command: `temporal workflow query --workflow-id '${workflowId}' --name status`,
      };
      const commands =
        page.kind === ReleasePageKinds.emergency
          ? [status]
          : [
              ...decisionCommands({ repository: page.repository, version: page.version, workflowId }),
              {
                label: 'decide and get an answer (accepted, or why not)',
                command:
                  `temporal workflow update execute --workflow-id '${workflowId}' --name decide ` +
                  `--input '{"decision":"rollback","by":"NAME","reason":"..."}'`,
              },
              status,
            ];
      const text = [
        `${page.verdict}: ${page.reason}`,
        ...(page.decision
          ? [
              `decided by ${page.decision.by} at ${page.decision.at}: ${page.decision.reason ?? '(no reason given)'}`,
            ]
          : [
              `who may decide: emergency: ${page.deciders.emergency}; rollback: ${page.deciders.rollback}; ` +
                `failForward: ${page.deciders.failForward}`,
            ]),
        `workflow: ${workflowId}`,
      ].join('\n');
      const links =
        ports.uiUrl && workflowId !== 'unknown'
          ? [
              {
                title: 'workflow in the Temporal UI',
                url: workflowUrl({
                  uiUrl: ports.uiUrl,
                  namespace: info.workflowNamespace ?? 'default',
                  workflowId,
                }),
              },
            ]
          : [];
      return await definitive(() =>
        ports.alerts.send({
          key: page.key,
          kind: page.kind,
          verdict: page.verdict,
          ...(workflowId !== 'unknown' ? { workflowId } : {}),
          team: page.team,
          severity,
          title: title(page),
          text,
          repository: page.repository,
          version: page.version,
          env: 'production',
          links,
          commands,
        }),
      );
    },

    /**
     * Closes what was opened about a release (its PagerDuty incident) once it is decided or
     * healthy; a channel that is down is journaled and reported, never thrown.
     */
    async resolveReleaseAlerts(input: {
      repository: string;
      version: string;
      reason: string;
    }): Promise<{ deliveries: AlertDelivery[] }> {
      const deliveries = (await ports.alerts.resolveRelease?.(input).catch(() => [])) ?? [];
      return { deliveries };
    },
  };
}
