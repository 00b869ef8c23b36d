// The worker's workflowsPath: every workflow type the worker registers, by exported name.
export { readinessWorkflow } from './readiness-workflow';
export { lockWorkflow } from './staging-lock';
export { lockProbeWorkflow } from './lock-probe-workflow';
export { mainCommitWorkflow } from './main-commit-pipeline';
