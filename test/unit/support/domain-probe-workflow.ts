/**
 * A workflow that imports every domain module: bundling it proves the release rules are
 * usable from workflow code (no Node built-ins, no ESM-only parser dragged in).
 */
import { decideNextVersion } from '../../../src/domain/next-version';
import { checkPullRequest } from '../../../src/domain/pr-policy';
import { judgeHealth } from '../../../src/domain/health-verdict';
import { nextIncidentId } from '../../../src/domain/incident-ids';
import { renderRetrospective } from '../../../src/domain/retrospective-template';
import { sortReleaseTags } from '../../../src/domain/release-tags';

export async function domainProbeWorkflow(): Promise<string[]> {
  return [
    typeof decideNextVersion,
    typeof checkPullRequest,
    typeof judgeHealth,
    typeof renderRetrospective,
    nextIncidentId('HOT', ['HOT-2']),
    sortReleaseTags(['v1.9.0', 'v1.10.0'])[0]?.name ?? '',
  ];
}
