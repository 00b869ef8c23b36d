/**
 * The three decisions on a breached production release (docs/pipelines-and-decisions.md "Decisions, forced take-over and
 * rollback"): their names, who may take them, and why one is refused. Pure: the production workflow
 * applies these rules to signals and to the `decide` update's validator alike, so both doors answer
 * the same way.
 */

export const Decisions = {
  /** SEV-1/P0: escalate, hotfix branch, staging in hotfix-only mode. */
  emergency: 'emergency',
  /** Production back to the previous version, staging to its last good one. */
  rollback: 'rollback',
  /** Record the decision, change nothing. */
  failForward: 'failForward',
} as const;
export type Decision = (typeof Decisions)[keyof typeof Decisions];

export const DECISION_NAMES: readonly Decision[] = [
  Decisions.emergency,
  Decisions.rollback,
  Decisions.failForward,
];

export function isDecision(name: unknown): name is Decision {
  return typeof name === 'string' && (DECISION_NAMES as readonly string[]).includes(name);
}

/**
 * Who may take each decision. Entries are person names (compared without case), `team:<name>`
 * for every member listed in `teams`, or `*` for anyone. A decision with no list (or an empty
 * one) may be taken by anyone: Temporal does not authenticate senders, so this is a guard
 * against slips, not a security boundary (the Temporal namespace's permissions are).
 */
export interface Deciders {
  emergency?: readonly string[];
  rollback?: readonly string[];
  failForward?: readonly string[];
  teams?: Readonly<Record<string, readonly string[]>>;
}

const TEAM_PREFIX = 'team:';

function same(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/** May `by` take `decision`? */
export function mayDecide(deciders: Deciders | undefined, decision: Decision, by: string): boolean {
  const allowed = deciders?.[decision];
  if (!allowed || allowed.length === 0) return true;
  return allowed.some((entry) => {
    if (entry.trim() === '*') return true;
    if (entry.startsWith(TEAM_PREFIX)) {
      const members = deciders?.teams?.[entry.slice(TEAM_PREFIX.length)] ?? [];
      return members.some((member) => same(member, by));
    }
    return same(entry, by);
  });
}

/** `alice, team:sre (bob, carol)`, or `anyone`: for alerts and rejections. */
export function describeDeciders(deciders: Deciders | undefined, decision: Decision): string {
  const allowed = deciders?.[decision];
  if (!allowed || allowed.length === 0 || allowed.some((e) => e.trim() === '*')) return 'anyone';
  return allowed
    .map((entry) => {
      if (!entry.startsWith(TEAM_PREFIX)) return entry;
      const members = deciders?.teams?.[entry.slice(TEAM_PREFIX.length)] ?? [];
      return `${entry} (${members.length ? members.join(', ') : 'no members configured'})`;
    })
    .join(', ');
}

/** An accepted decision as it is recorded: who, when (workflow clock, ISO), why, and through which door. */
export interface DecisionRecord {
  decision: Decision;
  by: string;
  reason?: string;
  at: string;
  via: 'signal' | 'update';
}

/** Where the release stands, as far as deciding goes. */
export interface DecisionContext {
  /** True while a decision is awaited (after a breach was alerted, before one was accepted). */
  awaiting: boolean;
  /** The decision already taken, if any. */
  taken?: DecisionRecord;
  /** Why nothing is awaited, in words (`production is being watched until 10:30Z`). */
  notAwaitedBecause: string;
}

// Names people type by habit (the CLI spells it fail-forward) get a pointer to the wire name.
const ALIASES: Readonly<Record<string, Decision>> = {
  'fail-forward': Decisions.failForward,
  failforward: Decisions.failForward,
  fail_forward: Decisions.failForward,
  'roll-back': Decisions.rollback,
  sev1: Decisions.emergency,
  hotfix: Decisions.emergency,
};

/**
 * Why a decision request is refused, or null when it would be accepted. Checked in this order:
 * unknown name, no `by`, already decided, nothing awaited, `by` not allowed.
 */
export function decisionRejection(
  context: DecisionContext,
  deciders: Deciders | undefined,
  request: { decision: unknown; by: unknown },
): string | null {
  const name = request.decision;
  if (!isDecision(name)) {
    const shown = typeof name === 'string' ? `"${name}"` : String(name);
    const alias = typeof name === 'string' ? ALIASES[name.toLowerCase()] : undefined;
    return (
      `unknown decision ${shown}: the decisions are emergency, rollback and failForward` +
      (alias ? ` (did you mean ${alias}?)` : '')
    );
  }
  const by = typeof request.by === 'string' ? request.by.trim() : '';
  if (!by) return `say who decides: "by" must be a non-empty name, e.g. {"by":"alice","reason":"..."}`;
  if (context.taken) {
    const t = context.taken;
    return (
      `already decided: ${t.decision} by ${t.by} at ${t.at}; a release takes one decision and this one ` +
      `changes nothing (query "status" to follow it)`
    );
  }
  if (!context.awaiting) return `no decision is awaited: ${context.notAwaitedBecause}`;
  if (!mayDecide(deciders, name, by)) {
    return `${by} may not decide ${name}: allowed are ${describeDeciders(deciders, name)} (config: deciders.${name})`;
  }
  return null;
}

/** A decision that changed nothing, and why. */
export interface RejectedDecision {
  /** The name as sent (`rollback`, or an unknown signal's name). */
  decision: string;
  by: string;
  reason?: string;
  /** Workflow clock, ISO. */
  at: string;
  via: 'signal' | 'update';
  why: string;
}
