// The benchmark's workflowsPath: the shipped workflows plus the bare floors.
export * from '../src/workflows';
export { pingPongWorkflow } from './ping-pong-workflow';
export { bareReleaseWorkflow } from './bare-release-workflow';
