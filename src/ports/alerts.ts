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
}

export interface AlertReceipt {
  /** False when an alert with this key was sent before: nothing was sent now. */
  sent: boolean;
  /** When the alert with this key was first sent, epoch milliseconds. */
  sentAt: number;
}

export interface Alerts {
  send(alert: Alert): Promise<AlertReceipt>;
}

// Safe characters pass as they are; anything else is single-quoted for POSIX shells.
function shellWord(value: string): string {
  return /^[A-Za-z0-9._/@:=+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The decision names as the CLI spells them, and the signal each sends (MISSION.md, stage 3). */
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
