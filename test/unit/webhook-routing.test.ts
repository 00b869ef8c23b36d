import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routeEvent, type RoutedRepository, type Routing } from '../../src/http/webhooks/route-event';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const ZERO = '0'.repeat(40);
const repos: RoutedRepository[] = [
  { name: 'Acme/Shop', defaultBranch: 'main', releaseTagPattern: '^v\\d+\\.\\d+\\.\\d+$' },
];
const repository = { full_name: 'acme/shop' };

type Expect = { kind: Routing['kind']; workflowId?: string; reason?: RegExp };
const cases: [string, string, Record<string, unknown>, Expect][] = [
  [
    'push to main starts main-commit of after',
    'push',
    { repository, ref: 'refs/heads/main', before: B, after: A },
    { kind: 'start', workflowId: `main-commit:Acme/Shop:${A}` },
  ],
  [
    'push to another branch is ignored',
    'push',
    { repository, ref: 'refs/heads/feature', after: A },
    { kind: 'ignore', reason: /branch feature.*only main/ },
  ],
  [
    'branch deletion is ignored',
    'push',
    { repository, ref: 'refs/heads/main', deleted: true, after: ZERO },
    { kind: 'ignore', reason: /deleted/ },
  ],
  [
    'all-zero after is a deletion even without the flag',
    'push',
    { repository, ref: 'refs/heads/main', after: ZERO },
    { kind: 'ignore', reason: /deleted/ },
  ],
  [
    'forced push to main is ignored',
    'push',
    { repository, ref: 'refs/heads/main', forced: true, before: B, after: A },
    { kind: 'ignore', reason: /forced push.*removed commits/ },
  ],
  [
    'push to main without a hash is ignored',
    'push',
    { repository, ref: 'refs/heads/main', after: 'nope' },
    { kind: 'ignore', reason: /without a commit hash/ },
  ],
  [
    'release tag push starts the tag pipeline of head_commit',
    'push',
    { repository, ref: 'refs/tags/v1.2.3', after: B, head_commit: { id: A } },
    { kind: 'start', workflowId: 'tag:Acme/Shop:v1.2.3' },
  ],
  [
    'non-matching tag push is ignored',
    'push',
    { repository, ref: 'refs/tags/nightly', after: A, head_commit: { id: A } },
    { kind: 'ignore', reason: /does not match the release tag pattern/ },
  ],
  [
    'tag deletion is ignored',
    'push',
    { repository, ref: 'refs/tags/v1.2.3', deleted: true, after: ZERO, head_commit: null },
    { kind: 'ignore', reason: /deleted/ },
  ],
  [
    'push of another ref kind is ignored',
    'push',
    { repository, ref: 'refs/notes/x', after: A },
    { kind: 'ignore', reason: /neither a branch nor a tag/ },
  ],
  [
    'create of a release tag waits for its push',
    'create',
    { repository, ref: 'v1.2.3', ref_type: 'tag' },
    { kind: 'ignore', reason: /carry no commit.*tag:Acme\/Shop:v1\.2\.3/ },
  ],
  [
    'create of a non-matching tag is ignored',
    'create',
    { repository, ref: 'x', ref_type: 'tag' },
    { kind: 'ignore', reason: /does not match/ },
  ],
  [
    'create of a branch is ignored',
    'create',
    { repository, ref: 'feature', ref_type: 'branch' },
    { kind: 'ignore', reason: /branch feature starts nothing/ },
  ],
  [
    'unknown repository is ignored',
    'push',
    { repository: { full_name: 'other/repo' }, ref: 'refs/heads/main', after: A },
    { kind: 'ignore', reason: /other\/repo is not configured/ },
  ],
  [
    'unknown event is ignored',
    'issues',
    { repository },
    { kind: 'ignore', reason: /event issues is not handled/ },
  ],
  [
    'ping answers pong for any repository',
    'ping',
    { zen: 'x', repository: { full_name: 'nobody/none' } },
    { kind: 'pong' },
  ],
  [
    'gated pull request starts the PR gate of its head',
    'pull_request',
    {
      repository: { ...repository, name: 'shop', owner: { login: 'acme' } },
      action: 'opened',
      pull_request: { number: 7, state: 'open', head: { ref: 'u/T-1', sha: A }, base: { ref: 'main' } },
    },
    { kind: 'start', workflowId: `pr-gate:Acme/Shop#7:${A}`, reason: /#7 opened: PR gate of/ },
  ],
  [
    'labelled pull request asks for nothing',
    'pull_request',
    { repository, action: 'labeled' },
    { kind: 'ignore', reason: /labeled changes nothing/ },
  ],
];

describe('webhook routing', () => {
  it('a push to main also starts the re-check of open pull requests into main', () => {
    const routing = routeEvent('push', { repository, ref: 'refs/heads/main', before: B, after: A }, repos);
    assert.equal(routing.kind, 'start');
    assert.deepEqual(routing.kind === 'start' && routing.also, [
      {
        stage: 'pr-recheck',
        workflowId: `pr-recheck:Acme/Shop:${A}`,
        input: { repository: 'Acme/Shop', base: 'main', commit: A },
      },
    ]);
  });

  it('a gated pull request starts the gate with its number, head, branch and base', () => {
    const routing = routeEvent(
      'pull_request',
      {
        repository: { ...repository, name: 'shop', owner: { login: 'acme' } },
        action: 'synchronize',
        pull_request: { number: 9, state: 'open', head: { ref: 'u/T-2', sha: B }, base: { ref: 'main' } },
      },
      repos,
    );
    assert.deepEqual(routing.kind === 'start' && routing.request, {
      stage: 'pr-gate',
      workflowId: `pr-gate:Acme/Shop#9:${B}`,
      input: { repository: 'Acme/Shop', number: 9, head: B, branch: 'u/T-2', base: 'main' },
    });
  });

  for (const [name, event, payload, expected] of cases) {
    it(name, () => {
      const routing = routeEvent(event, payload, repos);
      assert.equal(routing.kind, expected.kind, routing.reason);
      if (expected.workflowId) {
        assert.equal(routing.kind === 'start' && routing.request.workflowId, expected.workflowId);
      }
      if (expected.reason) assert.match(routing.reason, expected.reason);
    });
  }

  it('the tag pipeline gets the tagged commit, not the annotated tag object', () => {
    const routing = routeEvent(
      'push',
      { repository, ref: 'refs/tags/v2.0.0', after: B, head_commit: { id: A } },
      repos,
    );
    assert.ok(routing.kind === 'start');
    assert.deepEqual(routing.request.input, { repository: 'Acme/Shop', tag: 'v2.0.0', commit: A });
  });

  it('the configured spelling of the repository names the workflow', () => {
    const routing = routeEvent(
      'push',
      { repository: { full_name: 'ACME/SHOP' }, ref: 'refs/heads/main', after: A },
      repos,
    );
    assert.ok(routing.kind === 'start');
    assert.equal(routing.request.input.repository, 'Acme/Shop');
  });
});
