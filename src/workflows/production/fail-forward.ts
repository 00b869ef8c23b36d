/** The fail-forward decision: recorded, nothing changes; what was opened about the release is closed. */
import { patched } from '@temporalio/workflow';
import type { DecisionRecord } from '../../domain/production-decisions';
import { quick, type ReleaseRun } from './release-run';

/** A fail-forward decision closes what was opened about the release (its PagerDuty incident). */
export const RESOLVE_ON_FAIL_FORWARD_PATCH = 'resolve-on-fail-forward';

export async function failForward(run: ReleaseRun, decision: DecisionRecord): Promise<void> {
  if (!patched(RESOLVE_ON_FAIL_FORWARD_PATCH)) return;
  await quick.resolveReleaseAlerts.executeWithOptions(
    { summary: `resolve the alerts about ${run.version}: failed forward` },
    [{ repository: run.repository, version: run.version, reason: `failed forward by ${decision.by}` }],
  );
}
