/** Which pull requests get a build, from the repository's configuration. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pullRequestBuildPlan } from '../../src/activities/pr-build-plan';
import { validateConfig } from '../../src/config/load';

function repository(extra: Record<string, unknown>) {
  return validateConfig({ repositories: [{ name: 'acme/shop', ...extra }] }, {}).repositories[0]!;
}

describe('pull request build plan', () => {
  it('plans the build commands, then the unit tests, when pull requests of the repository are built', () => {
    const plan = pullRequestBuildPlan(
      repository({
        commands: { build: [['npm', 'run', 'build']], unitTests: [{ name: 'unit', argv: ['npm', 'test'] }] },
      }),
    );
    assert.deepEqual(plan, {
      state: 'planned',
      steps: [
        { name: 'build 1: npm run build', phase: 'build' },
        { name: 'unit', phase: 'unit tests' },
      ],
    });
  });

  it('plans nothing without commands, or with pullRequestBuilds: none', () => {
    assert.equal(pullRequestBuildPlan(repository({})), undefined);
    assert.equal(
      pullRequestBuildPlan(
        repository({ commands: { unitTests: [['npm', 'test']] }, pullRequestBuilds: 'none' }),
      ),
      undefined,
    );
    assert.equal(pullRequestBuildPlan(undefined), undefined);
  });

  it('pullRequestBuilds takes same-repository (the default), all or none, and names anything else', () => {
    assert.equal(repository({}).pullRequestBuilds, 'same-repository');
    assert.throws(() => repository({ pullRequestBuilds: 'forks' }), /pullRequestBuilds/);
  });
});
