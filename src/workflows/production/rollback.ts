/**
 * The rollback decision: the version is marked bad everywhere, production returns to the
 * version it ran before this one (without waiting for staging: a hotfix may hold it), then
 * staging is taken by force and returned to its last good version, and the `ROLLBACK-<n>`
 * retrospective page is published. Runs begun before that order roll staging back first.
 */
import { patched } from '@temporalio/workflow';
import type { HealthVerdict } from '../../domain/health-verdict';
import { IncidentKinds } from '../../domain/incident-ids';
import type { DecisionRecord } from '../../domain/production-decisions';
import { runStep } from '../shared/steps';
import { forceStaging } from './force-staging';
import { documents, now, quick, retrospective, type ReleaseRun } from './release-run';

/**
 * Rollback marks the version bad everywhere, rolls production back without waiting for staging,
 * then takes staging (after a hotfix holder, in hotfix-only mode) and returns it to the version
 * it ran before this one.
 */
export const ROLLBACK_MARKS_BAD_PATCH = 'rollback-marks-bad';

export async function rollBack(
  run: ReleaseRun,
  decision: DecisionRecord,
  trouble: HealthVerdict,
): Promise<{ id: string; url: string }> {
  if (patched(ROLLBACK_MARKS_BAD_PATCH)) return await rollBackMarkingBad(run, decision, trouble);
  const lock = await forceStaging(run, decision, 'normal');
  try {
    const page = await publishRollbackPage(run, decision, trouble);
    await rollProductionBack(run);
    return page;
  } finally {
    await lock.release();
  }
}

async function rollBackMarkingBad(
  run: ReleaseRun,
  decision: DecisionRecord,
  trouble: HealthVerdict,
): Promise<{ id: string; url: string }> {
  const { repository, version, workflowId } = run;
  await runStep(run.status, `mark ${version} bad`, async () => {
    const result = await quick.markBad.executeWithOptions(
      { summary: `mark ${version} bad in dev, staging and production` },
      [
        {
          repository,
          envs: ['dev', 'staging', 'production'],
          version,
          by: workflowId,
          reason: `rolled back by ${decision.by}${decision.reason ? `: ${decision.reason}` : ''}`,
        },
      ],
    );
    run.timeline.push({ at: now(), what: `${version} marked bad`, by: decision.by });
    return { value: result, detail: result.notes.join('; ') };
  });
  // Production first: it does not wait for staging (a hotfix may hold it).
  await rollProductionBack(run);
  // With the version bad, staging's last good is the version it ran before this one.
  const lock = await forceStaging(run, decision, 'normal');
  try {
    return await publishRollbackPage(run, decision, trouble);
  } finally {
    await lock.release();
  }
}

async function publishRollbackPage(
  run: ReleaseRun,
  decision: DecisionRecord,
  trouble: HealthVerdict,
): Promise<{ id: string; url: string }> {
  const page = await runStep(run.status, 'retrospective page ROLLBACK-<n>', async () => {
    const ref = await documents.publishRetrospective.executeWithOptions(
      { summary: `publish the rollback retrospective of ${run.version}` },
      [
        {
          key: `${run.keyPrefix}/rollback/wiki`,
          page: { kind: IncidentKinds.rollback },
          retrospective: retrospective(run, IncidentKinds.rollback, decision, trouble),
        },
      ],
    );
    return { value: { id: ref.id, url: ref.url }, detail: ref.id };
  });
  run.status.retrospective = page;
  return page;
}

/** Production returns to the version it ran before this one. */
async function rollProductionBack(run: ReleaseRun): Promise<void> {
  const { repository, version, status, workflowId } = run;
  await runStep(status, 'roll production back', async () => {
    const result = await quick.rollbackEnvironment.executeWithOptions(
      { summary: `roll production back from ${version} to the version before it` },
      [{ repository, env: 'production', to: 'previous', fromVersion: version, by: workflowId }],
    );
    status.environments.production = result.state.current?.version;
    run.timeline.push({ at: now(), what: `production rolled back (${result.note})` });
    return { value: result, detail: result.note };
  });
}
