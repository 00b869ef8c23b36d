/**
 * The first move of a rollback or an emergency: take the staging lock by force and put staging
 * back to its last good version under the new token, also for the release whose hold was revoked.
 */
import { patched } from '@temporalio/workflow';
import type { DecisionRecord } from '../../domain/production-decisions';
import { acquire, type HeldLock } from '../lock/acquire';
import { preemptedBy } from '../shared/outcomes';
import { runStep } from '../shared/steps';
import { now, quick, STAGING, type ReleaseRun } from './release-run';

/**
 * Forced take-over puts the revoked holder's own staging (its repository's) back to its last good
 * version; before it, only the forcer's repository was rolled back.
 */
export const RESTORE_PREEMPTED_PATCH = 'restore-preempted-staging';

/** Forces the staging lock and rolls this repository's staging back to last good under its token. */
export async function forceStaging(
  run: ReleaseRun,
  decision: DecisionRecord,
  priority: 'hotfix' | 'normal',
): Promise<HeldLock> {
  const { repository, version, status, timeline, workflowId } = run;
  const reason = `${decision.decision} of ${repository} ${version}${decision.reason ? `: ${decision.reason}` : ''}`;
  const lock = await runStep(status, 'force the staging lock', async () => {
    const held = await acquire(STAGING, {
      purpose: `${decision.decision} ${repository} ${version}`,
      priority,
      lease: '10 minutes',
      force: { by: decision.by, reason, decision: decision.decision, repository, version },
      subject: { repository, version },
    });
    return { value: held, detail: `token ${held.token}, forced by ${decision.by}` };
  });
  timeline.push({ at: now(), what: 'forced the staging lock', by: decision.by });
  try {
    await runStep(status, 'roll staging back to last good', async () => {
      const result = await lock.run(() =>
        quick.rollbackEnvironment.executeWithOptions(
          { summary: `roll ${repository} staging back to its last good version` },
          [{ repository, env: 'staging', to: 'last-good', by: workflowId, fencingToken: lock.token }],
        ),
      );
      status.environments.staging = result.state.current?.version;
      timeline.push({ at: now(), what: `staging rolled back (${result.note})` });
      return { value: result, detail: result.note };
    });
    const revoked = lock.revoked?.subject;
    if (revoked && revoked.repository !== repository && patched(RESTORE_PREEMPTED_PATCH)) {
      // The revoked holder's untested version must not stay in staging: its repository's
      // staging goes back to its own last good version, under our token.
      await runStep(status, `roll ${revoked.repository} staging back to last good`, async () => {
        const result = await lock.run(() =>
          quick.rollbackEnvironment.executeWithOptions(
            {
              summary: `roll ${revoked.repository} staging back from ${revoked.version} to its last good version`,
            },
            [
              {
                repository: revoked.repository,
                env: 'staging',
                to: 'last-good',
                fromVersion: revoked.version,
                by: workflowId,
                fencingToken: lock.token,
              },
            ],
          ),
        );
        timeline.push({
          at: now(),
          what: `${revoked.repository} ${revoked.version} preempted in staging (${result.note})`,
        });
        return { value: result, detail: result.note };
      });
    }
  } catch (err) {
    // Another forcer (a second emergency) took staging: that one now owns it; carry on with the rest.
    const preempted = preemptedBy(err);
    if (!preempted) throw err;
    status.preemptedBy = preempted.revocation?.by ?? 'unknown';
  }
  return lock;
}
