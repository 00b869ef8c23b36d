/**
 * One production release as the parts of its workflow share it: who it is, its status, its
 * decision desk and timeline, and the activity proxies its steps call.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { PipelineActivities } from '../../activities/pipeline';
import type { DecisionDesk } from '../../domain/decision-desk';
import type { HealthVerdict } from '../../domain/health-verdict';
import type { IncidentKinds } from '../../domain/incident-ids';
import type { DecisionRecord } from '../../domain/production-decisions';
import type { ProductionSettings } from '../../domain/production-settings';
import type { ReleaseEvent } from '../../domain/retrospective-template';
import { quickCalls } from '../shared/activity-options';
import type { CommitStatusReporter } from '../shared/commit-statuses';
import type { ProductionReleaseInput, ProductionStatus, SupersededNotice } from './messages';

export interface ReleaseRun {
  input: ProductionReleaseInput;
  repository: string;
  version: string;
  workflowId: string;
  /**
   * Every page, ticket and page key starts with the workflow id and first run id: a retried
   * activity or a restarted worker never pages or files twice, and a later run of the same id (a
   * re-promote after a failure) is not silenced by the earlier run's keys.
   */
  keyPrefix: string;
  status: ProductionStatus;
  statuses: CommitStatusReporter;
  settings: ProductionSettings;
  /** The production version before this one, known once deployed (null for a first release). */
  previousVersion: string | null;
  desk: DecisionDesk;
  /** What happened, for the retrospective page. */
  timeline: ReleaseEvent[];
  /** Set by the `superseded` signal: a newer version now runs in production. */
  superseded?: SupersededNotice;
}

export const quick = proxyActivities<PipelineActivities>(quickCalls);

// Tickets and retrospective pages live in other systems (Jira, Confluence, GitHub): one that is
// down for a while never fails the decision, the step waits for it (docs/integrations.md "Jira and Confluence").
// Refusals a person must fix are non-retryable and still fail at once.
export const documents = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

// An emergency's ticket and page after its urgent steps: one attempt per call, so the workflow
// sees each failure, shows it in the status and waits before the next (emergency.ts).
export const documentAttempts = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 1 },
});

// A sample that cannot be taken is a failed sample, not a stuck watch: short timeout, one retry.
export const probes = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 2, initialInterval: '2 seconds' },
});

export const STAGING = 'staging';

// The workflow clock (Date is deterministic inside a workflow).
export function now(): number {
  return new Date().getTime();
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The desk changed: the status shows what it holds. */
export function setDesk(run: ReleaseRun, desk: DecisionDesk): void {
  run.desk = desk;
  run.status.awaitingDecision = desk.awaiting;
  run.status.decisions = desk.decisions;
  run.status.rejectedDecisions = desk.rejected;
}

/** The retrospective of an emergency or rollback: the trouble, the decision, the timeline. */
export function retrospective(
  run: ReleaseRun,
  kind: (typeof IncidentKinds)[keyof typeof IncidentKinds],
  decision: DecisionRecord,
  trouble: HealthVerdict,
  links: { title: string; url: string }[] = [],
) {
  return {
    kind,
    repository: run.repository,
    version: run.version,
    previousVersion: run.previousVersion,
    trigger: `${trouble.verdict}: ${trouble.reason}`,
    decision: {
      name: decision.decision,
      by: decision.by,
      at: Date.parse(decision.at),
      ...(decision.reason ? { reason: decision.reason } : {}),
    },
    events: [...run.timeline],
    links,
  };
}
