import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../src/common/errors';
import { buildInfo, deploymentFromEnv } from '../../src/temporal/release-build';
import { setCurrentPolicy } from '../../src/temporal/worker-deployments';

describe('the build as a worker deployment version', () => {
  it('is unversioned without RELEASE_FLOW_DEPLOYMENT', () => {
    assert.equal(deploymentFromEnv({}), undefined);
    assert.equal(deploymentFromEnv({ RELEASE_FLOW_DEPLOYMENT: '  ' }), undefined);
  });

  it('takes the build id from RELEASE_FLOW_BUILD_ID, else from this build, without dots', () => {
    assert.deepEqual(
      deploymentFromEnv({ RELEASE_FLOW_DEPLOYMENT: 'release-flow', RELEASE_FLOW_BUILD_ID: 'b-42' }),
      {
        deploymentName: 'release-flow',
        buildId: 'b-42',
      },
    );
    const own = deploymentFromEnv({ RELEASE_FLOW_DEPLOYMENT: 'release-flow' });
    assert.equal(own?.buildId, buildInfo().buildId.replaceAll('.', '_'));
    assert.doesNotMatch(own!.buildId, /\./);
  });

  it('refuses names the server cannot take apart, naming the variable', () => {
    for (const [variable, env] of [
      ['RELEASE_FLOW_DEPLOYMENT', { RELEASE_FLOW_DEPLOYMENT: 'release.flow' }],
      ['RELEASE_FLOW_BUILD_ID', { RELEASE_FLOW_DEPLOYMENT: 'rf', RELEASE_FLOW_BUILD_ID: 'a b' }],
    ] as const) {
      assert.throws(
        () => deploymentFromEnv(env),
        (err) =>
          err instanceof UserError && err.code === 'BAD_DEPLOYMENT_NAME' && err.message.startsWith(variable),
      );
    }
  });

  it('RELEASE_FLOW_SET_CURRENT is if-none by default and refuses other words', () => {
    assert.equal(setCurrentPolicy({}), 'if-none');
    assert.equal(setCurrentPolicy({ RELEASE_FLOW_SET_CURRENT: 'always' }), 'always');
    assert.throws(
      () => setCurrentPolicy({ RELEASE_FLOW_SET_CURRENT: 'sometimes' }),
      (err) => err instanceof UserError && err.code === 'BAD_SET_CURRENT',
    );
  });
});
