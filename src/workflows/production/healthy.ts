/**
 * A healthy release: production's version is marked good, and a healthy hotfix ends its
 * incident (staging back to normal mode, the pull request back, ticket and wiki closed).
 */
import { getExternalWorkflowHandle, patched } from '@temporalio/workflow';
import { lockWorkflowId, setModeSignal } from '../lock/messages';
import { runStep } from '../shared/steps';
import { HOTFIX_INCIDENTS_PATCH } from './emergency';
import type { ProductionOutcome } from './messages';
import { iso, now, quick, STAGING, documents, type ReleaseRun } from './release-run';

export async function markHealthy(run: ReleaseRun): Promise<ProductionOutcome['closedIncident']> {
  const { repository, version, workflowId } = run;
  await runStep(run.status, 'mark production good', async () => {
    const result = await quick.markGood.executeWithOptions(
      { summary: `mark ${version} good in production` },
      [{ repository, env: 'production', version, by: workflowId }],
    );
    return { value: result, detail: result.note };
  });
  return patched(HOTFIX_INCIDENTS_PATCH) ? await closeHotfixIncident(run) : undefined;
}

/** A healthy hotfix: staging back to normal mode, then the pull request back, ticket, wiki, incident closed. */
async function closeHotfixIncident(run: ReleaseRun): Promise<ProductionOutcome['closedIncident']> {
  const { repository, version, status, workflowId } = run;
  const hotfix = await quick.hotfixOfVersion.executeWithOptions(
    { summary: `is ${version} a hotfix of an open incident` },
    [{ repository, version }],
  );
  if (!hotfix) return undefined;
  await runStep(status, 'staging lock normal', async () => {
    await getExternalWorkflowHandle(lockWorkflowId(STAGING)).signal(setModeSignal, {
      mode: 'normal',
      by: workflowId,
      reason: `${hotfix.id}: hotfix ${version} healthy in production`,
      // Ends this incident's hold only: another open incident keeps staging hotfix-only.
      incident: { id: hotfix.id, repository },
    });
    run.timeline.push({ at: now(), what: `${hotfix.id} no longer holds staging hotfix-only` });
    return {
      value: undefined,
      detail: 'normal once no other incident holds it; waiting releases then proceed in arrival order',
    };
  });
  const closed = await runStep(status, `close ${hotfix.id}`, async () => {
    const result = await documents.closeIncident.executeWithOptions(
      { summary: `close ${hotfix.id}: pull request back, ticket and wiki` },
      [{ repository, id: hotfix.id, version, commit: run.input.commit, healthyAt: iso(now()), workflowId }],
    );
    return {
      value: result,
      detail: result.pullRequest ? `pull request #${result.pullRequest.number}` : result.pullRequestNote,
    };
  });
  status.hotfix = {
    id: hotfix.id,
    branch: hotfix.branch,
    state: 'continued',
    ticketUrl: hotfix.ticketUrl,
    wikiUrl: hotfix.wikiUrl,
  };
  return { id: hotfix.id, pullRequest: closed.pullRequest };
}
