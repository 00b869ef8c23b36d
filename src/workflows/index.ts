// The worker's workflowsPath: every workflow type the worker registers, by exported name.
export { readinessWorkflow } from './readiness/readiness-workflow';
export { lockWorkflow } from './lock/lock-workflow';
export { lockProbeWorkflow } from './lock/lock-probe-workflow';
export { mainCommitWorkflow } from './main-commit/main-commit-workflow';
export { tagReleaseWorkflow } from './tag/tag-release-workflow';
export { productionReleaseWorkflow } from './production/production-release-workflow';
export { hotfixWorkflow } from './hotfix/hotfix-workflow';
export { pullRequestGateWorkflow } from './pr-gate/pull-request-gate-workflow';
export { recheckOpenPullRequestsWorkflow } from './pr-gate/recheck-open-pull-requests-workflow';
