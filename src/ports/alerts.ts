/**
 * Alerts to people: the development team when a pipeline fails or production breaches, and
 * operations on escalation. An alert carries everything needed to act without searching: team,
 * severity, links, and the exact commands that decide. `key` is its idempotency key (derive it
 * from repository, version, stage and round): the same key never pages twice.
 */

export const AlertSeverities = {
  info: 'info',
  warning: 'warning',
  /** Production is hurt; operations are paged. */
  critical: 'critical',
} as const;
export type AlertSeverity = (typeof AlertSeverities)[keyof typeof AlertSeverities];

export interface AlertLink {
  title: string;
  url: string;
}

export interface AlertCommand {
  /** What running it does (`roll back`). */
  label: string;
  /** The command line, ready to paste. */
  command: string;
}

export interface Alert {
  key: string;
  /** `development`, `operations`, or a team name from config. */
  team: string;
  severity: AlertSeverity;
  /** One line (`acme/app v1.4.0: error rate above 5% in production`). */
  title: string;
  /** What failed, where, and what is known: a few lines, no secrets. */
  text: string;
  repository?: string;
  version?: string;
  env?: string;
  links: readonly AlertLink[];
  commands: readonly AlertCommand[];
  /** What the page is about (`decision-needed`, `escalation`, `emergency`, `pipeline-failed`). */
  kind?: string;
  /** The workflow the alert is about: what decision buttons act on. */
  workflowId?: string;
  /** The health verdict behind a production page (`breach`, `inconclusive`, `not-enough-data`). */
  verdict?: string;
}

/** What one alert channel (a Slack webhook, a PagerDuty service) did with an alert. */
export interface AlertDelivery {
  channel: string;
  /** `slack`, `pagerduty`. */
  type: string;
  /** `delivered`, or `failed` after every attempt (the release goes on: the journal keeps it). */
  state: 'delivered' | 'failed';
  attempts: number;
  /** Why the last attempt failed. */
  error?: string;
}

export interface AlertReceipt {
  /** False when an alert with this key was sent before: nothing was sent now. */
  sent: boolean;
  /** When the alert with this key was first sent, epoch milliseconds. */
  sentAt: number;
  /** Each configured channel's outcome; absent when only the local journal is configured. */
  deliveries?: AlertDelivery[];
}

/** A production deploy or rollback, for channels that track changes (PagerDuty change events). */
export interface ChangeNotice {
  /** Idempotency key: one notice per key. */
  key: string;
  repository: string;
  env: string;
  action: 'deploy' | 'rollback';
  version: string;
  fromVersion?: string;
  digest?: string;
  by: string;
  links: readonly AlertLink[];
}

export interface Alerts {
  send(alert: Alert): Promise<AlertReceipt>;
  /**
   * Closes what was opened about a release (a PagerDuty incident) once it is decided or healthy.
   * Never rejects: a channel that is down is journaled.
   */
  resolveRelease?(release: { repository: string; version: string; reason: string }): Promise<AlertDelivery[]>;
  /** Records a production change; never rejects. */
  notifyChange?(change: ChangeNotice): Promise<AlertDelivery[]>;
}

// Safe characters pass as they are; anything else is single-quoted for POSIX shells.
function shellWord(value: string): string {
  return /^[A-Za-z0-9._/@:=+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The decision names as the CLI spells them, and the signal each sends (docs/pipelines-and-decisions.md "Decisions,
 * forced take-over and rollback").
 */
export const DecisionCommandNames = [
  {
    cli: 'emergency',
    signal: 'emergency',
    label: 'declare an emergency (SEV-1): hotfix, escalate to operations',
  },
  { cli: 'rollback', signal: 'rollback', label: 'roll this version back' },
  { cli: 'fail-forward', signal: 'failForward', label: 'fail forward: record the decision, change nothing' },
] as const;

/**
 * The exact commands that decide a breached release: through our CLI and through the
 * `temporal` CLI, for each of the three decisions. `NAME` is left for the person to fill in.
 */
export function decisionCommands(target: {
  repository: string;
  version: string;
  workflowId: string;
}): AlertCommand[] {
  const commands: AlertCommand[] = [];
  for (const decision of DecisionCommandNames) {
    commands.push({
      label: decision.label,
      command: `release-flow decide ${shellWord(target.repository)} ${shellWord(target.version)} ${decision.cli} --by NAME`,
    });
  }
  for (const decision of DecisionCommandNames) {
    commands.push({
      label: `${decision.label} (temporal CLI)`,
      command:
        `temporal workflow signal --workflow-id ${shellWord(target.workflowId)} --name ${decision.signal} ` +
        `--input '{"by":"NAME"}'`,
    });
  }
  return commands;
}
