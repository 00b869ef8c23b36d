// The benchmark's workflowsPath: the shipped workflows plus the ping-pong floor.
export * from '../src/workflows';
export { pingPongWorkflow } from './ping-pong-workflow';
