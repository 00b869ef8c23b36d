import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatReleaseTag,
  isReleaseTag,
  latestReleaseTag,
  parseReleaseTag,
  releaseTagRuleProblems,
  sortReleaseTags,
} from '../../src/domain/release-tags';

describe('release tags', () => {
  const cases: [string, boolean][] = [
    ['v1.2.3', true],
    ['v0.0.0', true],
    ['v10.20.30', true],
    ['1.2.3', false],
    ['v1.2', false],
    ['v1.2.3-rc.1', false],
    ['v1.2.3+build', false],
    ['release-1.2.3', false],
    ['v1.2.3 ', false],
    ['V1.2.3', false],
  ];
  for (const [name, release] of cases) {
    it(`${JSON.stringify(name)} ${release ? 'is' : 'is not'} a release under the default pattern`, () => {
      assert.equal(isReleaseTag(name), release);
    });
  }

  it('orders by semver, not by name, and ignores tags that do not match', () => {
    const names = ['v1.9.0', 'v1.10.0', 'latest', 'v2.0.0-beta.1', 'v1.2.3', 'v01.0.0x'];
    assert.deepEqual(
      sortReleaseTags(names).map((t) => t.name),
      ['v1.10.0', 'v1.9.0', 'v1.2.3'],
    );
    assert.equal(latestReleaseTag(names)?.name, 'v1.10.0');
    assert.equal(latestReleaseTag(['nightly', 'v1']), null);
  });

  it('a custom pattern and format work together', () => {
    const rule = { pattern: '^release/\\d+\\.\\d+\\.\\d+(-rc\\.\\d+)?$', format: 'release/{version}' };
    assert.deepEqual(parseReleaseTag('release/2.0.0-rc.1', rule), {
      name: 'release/2.0.0-rc.1',
      version: '2.0.0-rc.1',
    });
    assert.equal(
      latestReleaseTag(['release/2.0.0-rc.1', 'release/1.9.9', 'v9.9.9'], rule)?.name,
      'release/2.0.0-rc.1',
    );
    assert.equal(formatReleaseTag('2.0.0', rule), 'release/2.0.0');
    assert.deepEqual(releaseTagRuleProblems(rule), []);
  });

  it('refuses a format the pattern would not find again, and a broken pattern', () => {
    assert.match(
      releaseTagRuleProblems({ pattern: '^v\\d+\\.\\d+\\.\\d+$', format: '{version}' })[0]!,
      /does not match/,
    );
    assert.match(
      releaseTagRuleProblems({ pattern: '^v(', format: 'v{version}' })[0]!,
      /not a regular expression/,
    );
    assert.match(releaseTagRuleProblems({ pattern: '^v', format: 'v' })[0]!, /no \{version\}/);
  });
});
