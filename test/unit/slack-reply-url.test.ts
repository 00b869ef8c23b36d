import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { replyUrlAllowed } from '../../src/http/slack-interactions';

describe('Slack response_url: where an interaction reply may go', () => {
  const hosts = ['hooks.slack.com', '127.0.0.1', 'localhost'];
  const cases: [string, boolean][] = [
    ['https://hooks.slack.com/actions/T1/1/abc', true],
    // Listed, but http off loopback: the reply would cross the network in clear text.
    ['http://hooks.slack.com/actions/T1/1/abc', false],
    ['https://evil.example/actions/1', false],
    ['http://127.0.0.1:4000/actions/1', true],
    ['http://localhost:4000/actions/1', true],
    // Loopback but not listed.
    ['http://127.0.0.2:4000/actions/1', false],
    ['ftp://hooks.slack.com/actions/1', false],
    ['not a url', false],
  ];
  for (const [url, allowed] of cases) {
    it(`${url} -> ${allowed ? 'replied to' : 'no reply'}`, () => {
      assert.equal(replyUrlAllowed(url, hosts) !== null, allowed);
    });
  }
  it('no response_url: no reply', () => {
    assert.equal(replyUrlAllowed(undefined, hosts), null);
  });
});
