import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDeployActivities } from '../../src/activities/deploy';
import { createReleaseActivities } from '../../src/activities/release';
import { createSettingsActivities } from '../../src/activities/settings';
import { FilesystemRegistry } from '../../src/adapters/local/filesystem-registry';
import { LocalEnvironments } from '../../src/adapters/local/local-environments';
import { LocalGitRepository } from '../../src/adapters/local/git-repository';
import { validateConfig } from '../../src/config/load';
import type { RepositoryConfig } from '../../src/config/schema';
import { git } from '../helpers/git-fixture';

describe('main-commit order and tag pipeline start (real git repository, local environments)', () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'rf-order-'));
  const dir = path.join(base, 'app');
  const commits: string[] = [];
  let repo: RepositoryConfig;
  const environments = new LocalEnvironments({ dir: path.join(base, 'environments') });
  const deploy = createDeployActivities({
    environments,
    registry: new FilesystemRegistry(path.join(base, 'registry')),
  });

  before(() => {
    git(base, 'init', '-q', '-b', 'main', dir);
    for (const n of [1, 2, 3]) {
      writeFileSync(path.join(dir, `f${n}.txt`), `${n}\n`);
      git(dir, 'add', '.');
      git(dir, 'commit', '-q', '-m', `feat(APP-${n}): change ${n}`);
      commits.push(git(dir, 'rev-parse', 'HEAD'));
    }
    const config = validateConfig(
      {
        stateDir: path.join(base, 'state'),
        repositories: [{ name: 'acme/app', path: dir, artifact: 'dist/app.txt', commands: {} }],
      },
      {},
    );
    repo = config.repositories[0]!;
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  const release = () =>
    createReleaseActivities({
      repository: (name) => (name === repo.name ? repo : undefined),
      git: () => LocalGitRepository.open(dir),
      environments,
    });

  async function devRuns(commit: string) {
    await deploy.deployVersion({
      repository: 'acme/app',
      env: 'dev',
      version: commit,
      artifact: { repository: 'dev', tag: commit },
      by: 'test',
    });
  }

  it('dev running nothing, the same commit, or an older one: this commit is not superseded', async () => {
    assert.deepEqual(await release().compareWithDev({ repository: 'acme/app', commit: commits[1]! }), {
      devRuns: null,
      newer: false,
    });
    await devRuns(commits[0]!);
    assert.deepEqual(await release().compareWithDev({ repository: 'acme/app', commit: commits[1]! }), {
      devRuns: commits[0],
      newer: false,
    });
    await devRuns(commits[1]!);
    assert.equal(
      (await release().compareWithDev({ repository: 'acme/app', commit: commits[1]! })).newer,
      false,
    );
  });

  it('dev running a descendant of this commit: superseded', async () => {
    await devRuns(commits[2]!);
    assert.deepEqual(await release().compareWithDev({ repository: 'acme/app', commit: commits[0]! }), {
      devRuns: commits[2],
      newer: true,
    });
  });

  it('dev running a commit this history does not know (rewritten by a force push): not superseded', async () => {
    await devRuns('f'.repeat(40));
    assert.equal(
      (await release().compareWithDev({ repository: 'acme/app', commit: commits[0]! })).newer,
      false,
    );
  });

  it('the tag pipeline starts from main-commit only for a repository with no webhook source, and never for a released version', async () => {
    const released = new Set<string>();
    const settings = (onGitHub: boolean) =>
      createSettingsActivities({
        repository: (name) => (name === repo.name ? repo : undefined),
        onGitHub: () => onGitHub,
        releases: {
          recordProduction: () => undefined,
          released: (_r, v) =>
            released.has(v) ? { repository: 'acme/app', version: v, releasedAt: 'then', by: 'x' } : null,
        },
      });
    assert.deepEqual(await settings(false).checkTagPipelineStart({ repository: 'acme/app', tag: 'v1.0.0' }), {
      start: true,
      reason: 'acme/app has no webhook source: the pipeline that made v1.0.0 starts it',
      searchAttributes: true,
    });
    const github = await settings(true).checkTagPipelineStart({ repository: 'acme/app', tag: 'v1.0.0' });
    assert.deepEqual(
      [github.start, github.reason],
      [false, 'GitHub serves acme/app: the push of v1.0.0 starts it'],
    );
    released.add('v1.0.0');
    const again = await settings(false).checkTagPipelineStart({ repository: 'acme/app', tag: 'v1.0.0' });
    assert.equal(again.start, false);
    assert.match(again.reason, /already reached production/);
  });
});
