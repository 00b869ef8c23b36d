/**
 * Alerting activities. The alert key makes a page idempotent: a retried or replayed activity
 * never pages twice. Links into the Temporal UI are added here, where the UI's address is known.
 */
import { activityInfo } from '@temporalio/activity';
import type { Alert, AlertReceipt, Alerts } from '../ports/alerts';
import { workflowUrl } from '../common/ui-links';
import { definitive } from './definitive';

export interface AlertPorts {
  alerts: Alerts;
  /** Root of the Temporal UI (`http://127.0.0.1:8233`), when there is one to link to. */
  uiUrl?: string;
}

export interface PipelineFailureNotice {
  repository: string;
  /** `main-commit`, `tag`, `production`. */
  stage: string;
  /** The step that failed (`unit tests`). */
  step: string;
  commit?: string;
  version?: string;
  /** What failed, in one or a few lines (the log's tail included). */
  message: string;
  /** Where the full log is kept, when there is one. */
  log?: string;
  /** Set when the pipeline did not fail but was preempted: staging was taken from it. */
  preempted?: PreemptionNotice;
}

/** Who took staging from a pipeline, for which decision and release, and why. */
export interface PreemptionNotice {
  /** `emergency` or `rollback` (or how else the lock was taken: `lease`, an operator). */
  decision: string;
  by: string;
  repository?: string;
  version?: string;
  reason: string;
}

function currentWorkflowLink(uiUrl: string | undefined): { title: string; url: string }[] {
  const info = activityInfo();
  const workflowId = info.workflowExecution?.workflowId;
  if (!uiUrl || !workflowId) return [];
  return [
    {
      title: 'workflow in the Temporal UI',
      url: workflowUrl({
        uiUrl,
        namespace: info.workflowNamespace ?? 'default',
        workflowId,
        ...(info.workflowExecution?.runId ? { runId: info.workflowExecution.runId } : {}),
      }),
    },
  ];
}

export function createAlertActivities(ports: AlertPorts) {
  return {
    /** Sends an alert once per key. */
    async sendAlert(alert: Alert): Promise<AlertReceipt> {
      return await definitive(() => ports.alerts.send(alert));
    },

    /** Tells the development team a pipeline halted: what failed, where, and a link to the run. */
    async notifyPipelineFailure(notice: PipelineFailureNotice): Promise<AlertReceipt> {
      const info = activityInfo();
      const workflowId = info.workflowExecution?.workflowId ?? 'unknown';
      const subject = notice.version ?? notice.commit?.slice(0, 12) ?? '';
      return await definitive(() =>
        ports.alerts.send({
          key: `${workflowId}/${notice.preempted ? 'preempted' : 'failed'}/${notice.step}`,
          kind: 'pipeline-failed',
          ...(workflowId !== 'unknown' ? { workflowId } : {}),
          team: 'development',
          severity: 'warning',
          title: notice.preempted
            ? `${notice.repository} ${subject}: ${notice.stage} pipeline preempted at ${notice.step}: staging taken by ${notice.preempted.repository ?? notice.preempted.by} ${notice.preempted.version ?? ''} (${notice.preempted.decision} by ${notice.preempted.by})`
            : `${notice.repository} ${subject}: ${notice.stage} pipeline failed at ${notice.step}`,
          text: [
            notice.message,
            ...(notice.log ? [`log: ${notice.log}`] : []),
            `workflow: ${workflowId}`,
          ].join('\n'),
          repository: notice.repository,
          ...(notice.version ? { version: notice.version } : {}),
          links: currentWorkflowLink(ports.uiUrl),
          commands: [
            {
              label: 'see the pipeline status',
              command: `temporal workflow query --workflow-id '${workflowId}' --name status`,
            },
          ],
        }),
      );
    },
  };
}
