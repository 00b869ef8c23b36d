import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { storageText, toStorage } from '../../src/adapters/confluence/storage-format';
import { authorizationOf, errorDetails, retryAfterMs } from '../../src/adapters/jira/atlassian-client';
import { adfText, toAdf, toWikiMarkup } from '../../src/adapters/jira/jira-documents';
import { ticketsOf } from '../../src/activities/release-links';
import { renderRetrospective } from '../../src/domain/retrospective-template';
import { wellFormed } from '../helpers/fake-confluence';

const retrospective = renderRetrospective({
  id: 'HOT-2',
  kind: 'HOT',
  repository: 'acme/shop',
  version: 'v2.0.0',
  trigger: 'breach: 5xx <b>spike</b>',
  decision: { name: 'emergency', by: 'ana', at: Date.UTC(2026, 11, 1, 10), reason: 'a | b & c' },
  events: [{ at: Date.UTC(2026, 11, 1, 9), what: 'deployed v2.0.0' }],
  links: [{ title: 'ticket HOT-2', url: 'https://jira.example/browse/OPS-1' }],
});

describe('Atlassian document formats', () => {
  it('storage format is well-formed XML, shows raw HTML as text, escapes text and keeps the template sections', () => {
    const value = toStorage(
      `${retrospective}\n---\nline one  \nline two\n<script>alert(1)</script>\n<!-- marker -->\n`,
    );
    assert.equal(wellFormed(value), null);
    assert.ok(value.includes('<hr />') && value.includes('<br />'));
    assert.doesNotMatch(value, /<script>|marker/);
    assert.match(value, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(value, /5xx &lt;b&gt;spike&lt;\/b&gt;/);
    assert.match(value, /<a href="https:\/\/jira\.example\/browse\/OPS-1">ticket HOT-2<\/a>/);
    assert.match(value, /\[ \] /, 'follow-up boxes stay as text');
    const text = storageText(value);
    assert.match(text, /^# HOT-2: Emergency hotfix/);
    assert.match(text, /## Timeline \(UTC\)/);
    assert.match(text, /a \| b & c/);
  });

  it('ADF for Cloud and wiki markup for Data Center carry the same content', () => {
    const adf = toAdf('<!-- key -->\n## Decision\n\n- **emergency** by `ana`\n\n[run](http://ui/x)\n');
    assert.equal(adf.type, 'doc');
    assert.equal(adf.version, 1);
    assert.doesNotMatch(JSON.stringify(adf), /key/);
    assert.equal(adfText(adf), '## Decision\n- emergency by ana\nrun');
    assert.equal(
      toWikiMarkup(retrospective.split('## Impact')[0]!),
      [
        'h1. HOT-2: Emergency hotfix of acme/shop v2.0.0',
        '',
        'h2. Summary',
        '',
        '* Repository: acme/shop',
        '* Version: v2.0.0',
        '* Trigger: breach: 5xx <b>spike</b>',
        '* Decision: *emergency* by ana at 2026-12-01T10:00:00Z',
        '* Reason given: a | b & c',
        '',
        '_What happened, in two or three sentences: to be written by the team._',
        '',
      ].join('\n'),
    );
    assert.match(toWikiMarkup('| A | B |\n| --- | --- |\n| 1 | x\\|y |\n'), /^\|\|A\|\|B\|\|\n\|1\|x\\\|y\|/);
  });

  it('Retry-After in seconds or as an HTTP date; auth headers by deployment', () => {
    assert.equal(retryAfterMs('3', 1000), 3000);
    assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 1000, 4_000), 6000);
    assert.equal(retryAfterMs(null, 1000), null);
    assert.equal(retryAfterMs('soon', 1000), null);
    assert.equal(
      authorizationOf({ email: 'a@b', apiToken: 't' }),
      `Basic ${Buffer.from('a@b:t').toString('base64')}`,
    );
    assert.equal(authorizationOf({ personalAccessToken: 'p' }), 'Bearer p');
    assert.equal(authorizationOf({ email: 'a@b' }), null);
  });

  it("error bodies: Jira's errorMessages and errors (naming the setting) and Confluence's errors[]", () => {
    assert.deepEqual(
      errorDetails(
        { errorMessages: ['Bad'], errors: { priority: 'not valid', summary: 'required' } },
        { priority: 'jira.priorities.emergency' },
      ),
      { text: 'Bad; priority: not valid; summary: required', settings: ['jira.priorities.emergency'] },
    );
    assert.deepEqual(
      errorDetails({ errors: [{ status: 409, code: 'CONFLICT', title: 'Version must be incremented' }] }),
      {
        text: 'Version must be incremented',
        settings: [],
      },
    );
  });

  it('a release names the tickets its commits are scoped to, once each', () => {
    assert.deepEqual(
      ticketsOf([
        'feat(JIRA-12): a',
        'fix(JIRA-12): b',
        'fix(HOT-3): c',
        'chore: d',
        'feat(ui): e',
        'feat(OPS-1)!: f',
      ]),
      ['JIRA-12', 'HOT-3', 'OPS-1'],
    );
  });
});
