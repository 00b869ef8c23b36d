/**
 * One release-tag rule: `v` + semver core without leading zeros, the same at the webhook door,
 * in configuration validation and at the CLI.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { type ConfigError, validateConfig } from '../../src/config/load';
import { DEFAULT_RELEASE_TAG_PATTERN, isReleaseTag } from '../../src/domain/release-tags';
import { routeEvent } from '../../src/http/webhooks/route-event';
import { cli } from '../helpers/cli';

const SHA = 'a'.repeat(40);
const repo = { name: 'acme/shop', defaultBranch: 'main', releaseTagPattern: DEFAULT_RELEASE_TAG_PATTERN };
const tagPush = (tag: string) => ({
  ref: `refs/tags/${tag}`,
  after: SHA,
  head_commit: { id: SHA },
  repository: { full_name: 'acme/shop' },
});

const NOT_RELEASES = ['v01.1.2', 'v1.01.2', 'v1.1.02', 'v00.0.0', 'v1.2', 'v1.2.3.4', 'v1.2.3-rc.1', '1.2.3'];

describe('release tag rule', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('the default rule is v + semver core: leading zeros are no release', () => {
    for (const tag of ['v0.0.0', 'v1.2.3', 'v10.20.30']) assert.equal(isReleaseTag(tag), true, tag);
    for (const tag of NOT_RELEASES) assert.equal(isReleaseTag(tag), false, tag);
  });

  it('the door ignores leading-zero and other non-semver tags, and starts v1.1.2', () => {
    for (const tag of NOT_RELEASES) {
      const routed = routeEvent('push', tagPush(tag), [repo]);
      assert.equal(routed.kind, 'ignore', tag);
      assert.match(routed.reason, /is not a release tag/, tag);
    }
    // Even a hand-written loose pattern cannot make v01.1.2 a release at the door.
    const loose = { ...repo, releaseTagPattern: '^v\\d+\\.\\d+\\.\\d+$' };
    assert.equal(routeEvent('push', tagPush('v01.1.2'), [loose]).kind, 'ignore');
    const started = routeEvent('push', tagPush('v1.1.2'), [repo]);
    assert.equal(started.kind, 'start');
  });

  it('configuration refuses a custom pattern that accepts tags naming no semver, and keeps strict ones', () => {
    assert.throws(
      () => validateConfig({ repositories: [{ name: 'a', releaseTagPattern: '^v\\d+\\.\\d+\\.\\d+$' }] }, {}),
      (err: ConfigError) =>
        /repositories\[0\]\.releaseTagPattern: tag pattern "\^v\\\\d\+.*accepts "v01\.0\.0"/.test(
          err.message,
        ),
    );
    assert.throws(
      () => validateConfig({ repositories: [{ name: 'a', releaseTagPattern: '^release-.*$' }] }, {}),
      /accepts "release-01\.0\.0"/,
    );
    const ok = validateConfig(
      {
        repositories: [
          { name: 'a', releaseTagPattern: '^release-(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)$' },
        ],
      },
      {},
    );
    assert.equal(ok.repositories[0]!.name, 'a');
    assert.equal(
      validateConfig({ repositories: [{ name: 'b' }] }, {}).repositories[0]!.releaseTagPattern,
      DEFAULT_RELEASE_TAG_PATTERN,
    );
  });

  it('the CLI refuses a leading-zero tag before it connects, naming the tag', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-tag-rule-'));
    dirs.push(dir);
    const config = path.join(dir, 'release-flow.json');
    fs.writeFileSync(
      config,
      JSON.stringify({ stateDir: path.join(dir, 'state'), repositories: [{ name: 'acme/shop', path: dir }] }),
    );
    for (const tag of ['v01.1.2', 'v1.2']) {
      const run = await cli([
        'start',
        'tag',
        '--repo',
        'acme/shop',
        '--tag',
        tag,
        '--sha',
        SHA,
        '--config',
        config,
      ]);
      assert.equal(run.code, 2, run.err);
      assert.match(
        run.err,
        new RegExp(`NOT_A_RELEASE_TAG: ${tag.replace(/\./g, '\\.')} is not a release tag of acme/shop`),
      );
    }
  });
});
