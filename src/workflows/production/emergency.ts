/**
 * The emergency decision (docs/pipelines-and-decisions.md "Hotfix flow"): page operations; force the staging lock with
 * hotfix priority and roll this repository's staging back to its last good version; ticket,
 * wiki page and branch `HOT-<n>` (the branch off the deployed version's tag); staging lock to
 * hotfix-only; the incident recorded; the lock released. An emergency declared on a hotfix of an
 * open incident continues that incident instead.
 */
import { getExternalWorkflowHandle, patched } from '@temporalio/workflow';
import type { HealthVerdict } from '../../domain/health-verdict';
import { IncidentKinds } from '../../domain/incident-ids';
import type { DecisionRecord } from '../../domain/production-decisions';
import { lockWorkflowId, setModeSignal } from '../lock/messages';
import { runStep } from '../shared/steps';
import { page } from './escalation';
import { forceStaging } from './force-staging';
import type { HotfixStatus } from './messages';
import { documents, quick, retrospective, STAGING, type ReleaseRun } from './release-run';

/**
 * Emergencies record their incident (an emergency on a hotfix continues its incident), and a
 * healthy hotfix ends hotfix-only mode and closes its incident (docs/pipelines-and-decisions.md "Hotfix flow").
 */
export const HOTFIX_INCIDENTS_PATCH = 'hotfix-incidents';

export async function declareEmergency(
  run: ReleaseRun,
  decision: DecisionRecord,
  trouble: HealthVerdict,
): Promise<HotfixStatus> {
  const { repository, version, status, keyPrefix, settings, workflowId } = run;
  const incidents = patched(HOTFIX_INCIDENTS_PATCH);
  const continuing = incidents
    ? await quick.hotfixOfVersion.executeWithOptions(
        { summary: `is ${version} a hotfix of an open incident` },
        [{ repository, version }],
      )
    : null;
  await runStep(status, 'escalate to operations', async () => {
    await page(run, 'emergency', settings.operationsTeam, `${keyPrefix}/emergency`, trouble, {
      decision: {
        by: decision.by,
        at: decision.at,
        ...(decision.reason ? { reason: decision.reason } : {}),
      },
    });
    return { value: undefined, detail: `paged ${settings.operationsTeam}` };
  });
  const lock = await forceStaging(run, decision, 'hotfix');
  if (continuing) {
    // An emergency on a hotfix continues its incident: same ticket, page and branch.
    try {
      await runStep(status, 'staging lock hotfix-only', async () => {
        await getExternalWorkflowHandle(lockWorkflowId(STAGING)).signal(setModeSignal, {
          mode: 'hotfixOnly',
          by: decision.by,
          reason: `${continuing.id}: emergency in hotfix ${repository} ${version}`,
        });
        return { value: undefined, detail: `only ${continuing.id} may take staging` };
      });
      const hotfix: HotfixStatus = {
        id: continuing.id,
        branch: continuing.branch,
        state: 'continued',
        ticketUrl: continuing.ticketUrl,
        wikiUrl: continuing.wikiUrl,
      };
      status.hotfix = hotfix;
      return hotfix;
    } finally {
      await lock.release();
    }
  }
  try {
    const incident = {
      name: decision.decision,
      by: decision.by,
      at: Date.parse(decision.at),
      ...(decision.reason ? { reason: decision.reason } : {}),
    };
    const ticket = await runStep(status, 'ticket HOT-<n>', async () => {
      const ref = await documents.openIncidentTicket.executeWithOptions(
        { summary: `open the HOT-<n> ticket for ${repository} ${version}` },
        [
          {
            key: `${keyPrefix}/emergency/ticket`,
            kind: IncidentKinds.hotfix,
            repository,
            version,
            previousVersion: run.previousVersion,
            trigger: trouble.reason,
            decision: incident,
            workflowId,
          },
        ],
      );
      return { value: ref, detail: ref.id };
    });
    const wiki = await runStep(status, `wiki page ${ticket.id}`, async () => {
      const ref = await documents.publishRetrospective.executeWithOptions(
        { summary: `publish the ${ticket.id} wiki page` },
        [
          {
            key: `${keyPrefix}/emergency/wiki`,
            page: { id: ticket.id },
            retrospective: retrospective(run, IncidentKinds.hotfix, decision, trouble, [
              { title: `ticket ${ticket.id}`, url: ticket.url },
            ]),
          },
        ],
      );
      return { value: ref, detail: ref.id };
    });
    status.retrospective = { id: wiki.id, url: wiki.url };
    await runStep(status, `branch ${ticket.id}`, async () => {
      const made = await quick.createHotfixBranch.executeWithOptions(
        { summary: `create branch ${ticket.id} at ${version}` },
        [{ repository, branch: ticket.id, tag: version }],
      );
      return { value: made, detail: `${ticket.id} at ${made.commit.slice(0, 12)} (${version})` };
    });
    await runStep(status, 'staging lock hotfix-only', async () => {
      await getExternalWorkflowHandle(lockWorkflowId(STAGING)).signal(setModeSignal, {
        mode: 'hotfixOnly',
        by: decision.by,
        reason: `${ticket.id}: emergency in ${repository} ${version}`,
      });
      return { value: undefined, detail: `only ${ticket.id} may take staging` };
    });
    if (incidents) {
      await runStep(status, `record incident ${ticket.id}`, async () => {
        const ref = await quick.recordIncident.executeWithOptions(
          { summary: `record incident ${ticket.id}` },
          [
            {
              id: ticket.id,
              repository,
              brokenVersion: version,
              decision: {
                name: decision.decision,
                by: decision.by,
                at: decision.at,
                ...(decision.reason ? { reason: decision.reason } : {}),
              },
              ticketUrl: ticket.url,
              wikiUrl: wiki.url,
            },
          ],
        );
        return { value: ref, detail: `${ref.id} ${ref.state}: push fixes to branch ${ref.branch}` };
      });
    }
    const hotfix: HotfixStatus = {
      id: ticket.id,
      branch: ticket.id,
      state: 'pending',
      ticketUrl: ticket.url,
      wikiUrl: wiki.url,
    };
    status.hotfix = hotfix;
    return hotfix;
  } finally {
    await lock.release();
  }
}
