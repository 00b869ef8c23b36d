import { it } from 'node:test';
import assert from 'node:assert/strict';
import { bundleWorkflowCode } from '@temporalio/worker';

it('the release rules bundle into workflow code without disallowed modules', async () => {
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./support/domain-probe-workflow'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
  });
  assert.match(bundle.code, /domainProbeWorkflow/);
  // The parser is ESM-only and imports `stream`: it must stay out of the domain.
  assert.doesNotMatch(bundle.code, /conventional-commits-parser/);
});
