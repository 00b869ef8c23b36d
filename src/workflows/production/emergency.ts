/**
 * The emergency decision (docs/pipelines-and-decisions.md "Hotfix flow"): page operations; force the staging lock with
 * hotfix priority and roll this repository's staging back to its last good version; ticket,
 * wiki page and branch `HOT-<n>` (the branch off the deployed version's tag); staging lock to
 * hotfix-only; the incident recorded; the lock released. An emergency declared on a hotfix of an
 * open incident continues that incident instead.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  sleep,
} from '@temporalio/workflow';
import type { HealthVerdict } from '../../domain/health-verdict';
import { IncidentKinds } from '../../domain/incident-ids';
import type { DecisionRecord } from '../../domain/production-decisions';
import { lockWorkflowId, setModeSignal } from '../lock/messages';
import { describeFailure, runStep } from '../shared/steps';
import { page } from './escalation';
import { forceStaging } from './force-staging';
import type { DocumentProgress, HotfixStatus } from './messages';
import {
  documentAttempts,
  documents,
  iso,
  now,
  quick,
  retrospective,
  STAGING,
  type ReleaseRun,
} from './release-run';

/**
 * Emergencies record their incident (an emergency on a hotfix continues its incident), and a
 * healthy hotfix ends hotfix-only mode and closes its incident (docs/pipelines-and-decisions.md "Hotfix flow").
 */
export const HOTFIX_INCIDENTS_PATCH = 'hotfix-incidents';

/**
 * The emergency never waits on the ticket system: the incident is numbered and recorded by
 * release-flow, the branch and hotfix-only mode follow at once, and the ticket and page are
 * filed afterwards, retried until the tracker and wiki answer, pending in the status meanwhile.
 */
export const EMERGENCY_DOCUMENTS_LATER_PATCH = 'emergency-documents-later';

/** The first retry of a ticket or page that failed, doubled up to the last. */
const FOLLOW_UP_FIRST_DELAY_MS = 5_000;
const FOLLOW_UP_MAX_DELAY_MS = 5 * 60_000;

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
  const documentsLater = incidents && patched(EMERGENCY_DOCUMENTS_LATER_PATCH);
  if (continuing) {
    // An emergency on a hotfix continues its incident: same ticket, page and branch.
    try {
      await runStep(status, 'staging lock hotfix-only', async () => {
        await getExternalWorkflowHandle(lockWorkflowId(STAGING)).signal(setModeSignal, {
          mode: 'hotfixOnly',
          by: decision.by,
          reason: `${continuing.id}: emergency in hotfix ${repository} ${version}`,
          ...(documentsLater ? { incident: { id: continuing.id, repository } } : {}),
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
  if (documentsLater) return await declareWithDocumentsLater(run, decision, trouble, lock);
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

/**
 * The emergency in the order that never stalls (docs/pipelines-and-decisions.md "Hotfix flow"): the incident numbered and
 * recorded here, the branch and hotfix-only mode at once, staging released, then the ticket and
 * the page, each retried until its system answers while the status shows it pending.
 */
async function declareWithDocumentsLater(
  run: ReleaseRun,
  decision: DecisionRecord,
  trouble: HealthVerdict,
  lock: Awaited<ReturnType<typeof forceStaging>>,
): Promise<HotfixStatus> {
  const { repository, version, status, keyPrefix } = run;
  const decided = {
    name: decision.decision,
    by: decision.by,
    at: decision.at,
    ...(decision.reason ? { reason: decision.reason } : {}),
  };
  const ticket: DocumentProgress = { state: 'pending', attempts: 0 };
  const wiki: DocumentProgress = { state: 'pending', attempts: 0 };
  let hotfix: HotfixStatus;
  let filed: Promise<void>;
  try {
    const incident = await runStep(status, 'record incident HOT-<n>', async () => {
      const ref = await quick.reserveIncident.executeWithOptions(
        { summary: `number and record the incident of ${repository} ${version}` },
        [{ key: `${keyPrefix}/emergency/incident`, repository, brokenVersion: version, decision: decided }],
      );
      return { value: ref, detail: `${ref.id}: push fixes to branch ${ref.branch}` };
    });
    const id = incident.id;
    hotfix = { id, branch: incident.branch, state: 'pending', ticketUrl: '', wikiUrl: '', ticket, wiki };
    status.hotfix = hotfix;
    // The ticket and page are filed beside the urgent steps, never ahead of them.
    filed = fileDocuments(run, decision, trouble, hotfix);
    await runStep(status, `branch ${id}`, async () => {
      const made = await quick.createHotfixBranch.executeWithOptions(
        { summary: `create branch ${id} at ${version}` },
        [{ repository, branch: id, tag: version }],
      );
      return { value: made, detail: `${id} at ${made.commit.slice(0, 12)} (${version})` };
    });
    await runStep(status, 'staging lock hotfix-only', async () => {
      await getExternalWorkflowHandle(lockWorkflowId(STAGING)).signal(setModeSignal, {
        mode: 'hotfixOnly',
        by: decision.by,
        reason: `${id}: emergency in ${repository} ${version}`,
        incident: { id, repository },
      });
      return { value: undefined, detail: `only ${id} may take staging` };
    });
  } finally {
    await lock.release();
  }
  await filed;
  await runStep(status, `link ${hotfix.id} to its ticket and page`, async () => {
    const ref = await quick.linkIncidentDocuments.executeWithOptions(
      { summary: `link the ticket and page of ${hotfix.id}` },
      [
        {
          repository,
          id: hotfix.id,
          ...(ticket.url ? { ticketUrl: ticket.url } : {}),
          ...(wiki.url ? { wikiUrl: wiki.url } : {}),
        },
      ],
    );
    return { value: ref, detail: `ticket ${ticket.state}, page ${wiki.state}` };
  });
  return hotfix;
}

/** The ticket, then (once the ticket's first attempt has answered) the page, each until it is filed. */
async function fileDocuments(
  run: ReleaseRun,
  decision: DecisionRecord,
  trouble: HealthVerdict,
  hotfix: HotfixStatus,
): Promise<void> {
  const { repository, version, status, keyPrefix, workflowId } = run;
  const ticket = hotfix.ticket!;
  const wiki = hotfix.wiki!;
  const id = hotfix.id;
  const filing = runStep(status, `ticket ${id}`, async () => {
    const ref = await followUp(ticket, () =>
      documentAttempts.openIncidentTicket.executeWithOptions(
        { summary: `open the ${id} ticket for ${repository} ${version}` },
        [
          {
            key: `${keyPrefix}/emergency/ticket`,
            kind: IncidentKinds.hotfix,
            id,
            repository,
            version,
            previousVersion: run.previousVersion,
            trigger: trouble.reason,
            decision: {
              name: decision.decision,
              by: decision.by,
              at: Date.parse(decision.at),
              ...(decision.reason ? { reason: decision.reason } : {}),
            },
            workflowId,
          },
        ],
      ),
    );
    if (ref) hotfix.ticketUrl = ref.url;
    return { value: ref, detail: ref ? ref.url : `not filed: ${ticket.lastError ?? ''}` };
  });
  // The page links the ticket when the tracker answered at once; a tracker that is away does not hold it.
  await condition(() => ticket.state !== 'pending' || ticket.lastError !== undefined);
  const publishing = runStep(status, `wiki page ${id}`, async () => {
    const ref = await followUp(wiki, () =>
      documentAttempts.publishRetrospective.executeWithOptions({ summary: `publish the ${id} wiki page` }, [
        {
          key: `${keyPrefix}/emergency/wiki`,
          page: { id },
          retrospective: retrospective(
            run,
            IncidentKinds.hotfix,
            decision,
            trouble,
            ticket.url ? [{ title: `ticket ${id}`, url: ticket.url }] : [],
          ),
        },
      ]),
    );
    if (ref) {
      hotfix.wikiUrl = ref.url;
      status.retrospective = { id: ref.id, url: ref.url };
    }
    return { value: ref, detail: ref ? ref.url : `not published: ${wiki.lastError ?? ''}` };
  });
  await Promise.all([filing, publishing]);
}

/**
 * Calls `attempt` until it succeeds, waiting longer after each failure; `progress` shows the
 * last error meanwhile. A definitive refusal (a setting or permission to fix) stops it: null.
 */
async function followUp<T extends { url: string }>(
  progress: DocumentProgress,
  attempt: () => Promise<T>,
): Promise<T | null> {
  let delay = FOLLOW_UP_FIRST_DELAY_MS;
  for (;;) {
    progress.attempts += 1;
    progress.lastAttemptAt = iso(now());
    try {
      const value = await attempt();
      progress.state = 'done';
      progress.url = value.url;
      delete progress.lastError;
      return value;
    } catch (err) {
      if (isCancellation(err)) throw err;
      progress.lastError = describeFailure(err).message.split('\n')[0];
      const cause = err instanceof ActivityFailure ? err.cause : err;
      if (cause instanceof ApplicationFailure && cause.nonRetryable) {
        progress.state = 'failed';
        return null;
      }
      await sleep(delay);
      delay = Math.min(delay * 2, FOLLOW_UP_MAX_DELAY_MS);
    }
  }
}
