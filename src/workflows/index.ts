// The worker's workflowsPath: every workflow type the worker registers, by exported name.
export { readinessWorkflow } from './readiness-workflow';
export { lockWorkflow } from './staging-lock';
export { lockProbeWorkflow } from './lock-probe-workflow';
export { mainCommitWorkflow } from './main-commit-pipeline';
export { tagReleaseWorkflow } from './tag-pipeline';
export { productionReleaseWorkflow } from './production-pipeline';
export { hotfixWorkflow } from './hotfix-pipeline';
export { pullRequestGateWorkflow, recheckOpenPullRequestsWorkflow } from './pr-gate';
