import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startHttpServer } from '../../src/http/server';
import { pullRequestOfEvent } from '../../src/http/webhooks/pull-request-event';
import { webhookRoutes, type WebhookDeps } from '../../src/http/webhooks/webhook-routes';
import { routeEvent, type RoutedRepository } from '../../src/http/webhooks/route-event';
import { signBody } from '../../src/http/webhooks/signature';
import { capturingLogger, deliver, examplePayloads, fakeStarter, SECRET, sha } from '../helpers/webhooks';

const HELLO: RoutedRepository = {
  name: 'Codertocat/Hello-World',
  defaultBranch: 'master',
  releaseTagPattern: '^simple-tag$',
};

async function serve(deps: Partial<WebhookDeps> = {}) {
  const starter = fakeStarter();
  const log = capturingLogger();
  const http = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    routes: webhookRoutes({ secret: SECRET, repositories: [HELLO], starter, logger: log.logger, ...deps }),
  });
  return { http, starter, log };
}

const gated = (payload: unknown) => pullRequestOfEvent(payload) !== null;
const headOf = (payload: unknown) =>
  (payload as { pull_request: { head: { sha: string } } }).pull_request.head.sha;

const push = (after: string) =>
  JSON.stringify({
    ref: 'refs/heads/master',
    before: sha(1),
    after,
    repository: { full_name: 'Codertocat/Hello-World' },
  });

describe('webhook receiver: GitHub example payloads', () => {
  let s: Awaited<ReturnType<typeof serve>>;
  before(async () => (s = await serve()));
  after(() => s.http.close());
  const examples = examplePayloads(['push', 'create', 'pull_request', 'ping']);

  it('has examples of all four events', () => {
    const events = new Set(examples.map((e) => e.event));
    assert.deepEqual([...events].sort(), ['create', 'ping', 'pull_request', 'push']);
    assert.ok(examples.length >= 40, `only ${examples.length} examples`);
  });

  it('every unsigned example is refused with 401 and starts nothing', async () => {
    for (const ex of examples) {
      const res = await deliver(s.http.url, {
        event: ex.event,
        body: JSON.stringify(ex.payload),
        secret: false,
      });
      assert.equal(res.status, 401, `${ex.event}#${ex.index}`);
      assert.equal(res.body.decision, 'rejected');
    }
    assert.equal(s.starter.calls, 0);
  });

  it('every signed example is routed or ignored by the rules, never a 5xx', async () => {
    for (const ex of examples) {
      const p = ex.payload as {
        ref?: string;
        deleted?: boolean;
        after?: string;
        head_commit?: { id: string };
      };
      const res = await deliver(s.http.url, { event: ex.event, body: JSON.stringify(ex.payload) });
      const what = `${ex.event}#${ex.index} ${p.ref ?? ''}: ${JSON.stringify(res.body)}`;
      assert.ok(res.status < 500, what);
      if (ex.event === 'ping') {
        assert.equal(res.status, 200, what);
        assert.equal(res.body.decision, 'pong', what);
      } else if (ex.event === 'push' && !p.deleted && p.ref === 'refs/heads/master') {
        assert.ok(['started', 'already-started'].includes(String(res.body.decision)), what);
        assert.equal(res.body.workflowId, `main-commit:Codertocat/Hello-World:${p.after}`, what);
      } else if (ex.event === 'pull_request' && gated(ex.payload)) {
        assert.ok(['started', 'already-started'].includes(String(res.body.decision)), what);
        assert.match(String(res.body.workflowId), /^pr-gate:Codertocat\/Hello-World#2:[0-9a-f]{40}$/, what);
      } else if (ex.event === 'push' && !p.deleted && p.ref === 'refs/tags/simple-tag') {
        // The pattern matches, but a release tag must also name a semantic version.
        assert.equal(res.status, 202, what);
        assert.equal(res.body.decision, 'ignored', what);
        assert.match(String(res.body.reason), /simple-tag is not a release tag/, what);
      } else {
        assert.equal(res.status, 202, what);
        assert.equal(res.body.decision, 'ignored', what);
        assert.ok(String(res.body.reason).length > 10, what);
        if (ex.event === 'create')
          assert.match(String(res.body.reason), /carry no commit|simple-tag is not a release tag/, what);
        if (ex.event === 'push') assert.match(String(res.body.reason), /deleted/, what);
        if (ex.event === 'pull_request')
          assert.match(String(res.body.reason), /changes nothing the PR gate/, what);
      }
    }
    // One start per workflow id however many examples name it (the tag simple-tag names no
    // version, so it starts nothing): a push to master starts the
    // pipeline and the re-check of open pull requests; gated pull_request actions start the gate.
    assert.deepEqual(
      s.starter.starts.map((r) => [r.stage, 'commit' in r.input ? r.input.commit : r.input.head]).sort(),
      [
        ['main-commit', '6113728f27ae82c7b1a177c8d03f9e96e0adf246'],
        ['pr-recheck', '6113728f27ae82c7b1a177c8d03f9e96e0adf246'],
        ...[
          ...new Set(
            examples
              .filter((e) => e.event === 'pull_request' && gated(e.payload))
              .map((e) => headOf(e.payload)),
          ),
        ].map((head) => ['pr-gate', head]),
      ].sort(),
    );
  });
});

describe('webhook receiver: signatures', () => {
  let s: Awaited<ReturnType<typeof serve>>;
  before(async () => (s = await serve()));
  after(() => s.http.close());

  it('a wrong secret is 401', async () => {
    const res = await deliver(s.http.url, { event: 'push', body: push(sha(10)), secret: 'not-the-secret' });
    assert.equal(res.status, 401);
    assert.match(String(res.body.reason), /does not match/);
  });

  it('a sha1-only signature is 401 naming X-Hub-Signature-256', async () => {
    const body = push(sha(11));
    const sha1 = `sha1=${createHmac('sha1', SECRET).update(body).digest('hex')}`;
    const res = await deliver(s.http.url, {
      event: 'push',
      body,
      headers: { 'x-hub-signature-256': null, 'x-hub-signature': sha1 },
    });
    assert.equal(res.status, 401);
    assert.match(String(res.body.reason), /X-Hub-Signature-256 \(sha256\)/);
  });

  it('a missing signature is 401', async () => {
    const res = await deliver(s.http.url, { event: 'push', body: push(sha(12)), secret: false });
    assert.equal(res.status, 401);
    assert.match(String(res.body.reason), /missing X-Hub-Signature-256/);
  });

  it('a truncated signature is 401', async () => {
    const body = push(sha(13));
    const good = await signBody(SECRET, body);
    for (const bad of [good.slice(0, -1), good.slice(0, 20), 'sha256=', good.replace('sha256=', '')]) {
      const res = await deliver(s.http.url, { event: 'push', body, headers: { 'x-hub-signature-256': bad } });
      assert.equal(res.status, 401, bad);
    }
  });

  it('a signature of a different body is 401 (one flipped digit)', async () => {
    const body = push(sha(14));
    const good = await signBody(SECRET, body);
    const flipped = good.slice(0, -1) + (good.endsWith('0') ? '1' : '0');
    const res = await deliver(s.http.url, {
      event: 'push',
      body,
      headers: { 'x-hub-signature-256': flipped },
    });
    assert.equal(res.status, 401);
  });

  it('uppercase hex is the same MAC and is accepted', async () => {
    const body = push(sha(15));
    const good = await signBody(SECRET, body);
    const upper = `sha256=${good.slice('sha256='.length).toUpperCase()}`;
    const res = await deliver(s.http.url, { event: 'push', body, headers: { 'x-hub-signature-256': upper } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  });

  it('an empty body is 401 even with the HMAC of nothing', async () => {
    const empty = `sha256=${createHmac('sha256', SECRET).update('').digest('hex')}`;
    const res = await deliver(s.http.url, {
      event: 'push',
      body: '',
      headers: { 'x-hub-signature-256': empty },
    });
    assert.equal(res.status, 401);
    assert.match(String(res.body.reason), /empty body/);
  });

  it('no secret configured refuses everything with 503 and the fix', async () => {
    const open = await serve({ secret: undefined });
    try {
      const res = await deliver(open.http.url, { event: 'push', body: push(sha(16)) });
      assert.equal(res.status, 503);
      assert.match(String(res.body.reason), /GITHUB_WEBHOOK_SECRET is not set/);
      assert.equal(open.starter.calls, 0);
    } finally {
      await open.http.close();
    }
  });
});

describe('webhook receiver: bodies and answers', () => {
  let s: Awaited<ReturnType<typeof serve>>;
  before(async () => (s = await serve({ bodyLimitBytes: 4096 })));
  after(() => s.http.close());

  it('a content type other than JSON or form is 415', async () => {
    const res = await deliver(s.http.url, {
      event: 'push',
      body: push(sha(20)),
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(res.status, 415);
  });

  it('a form-encoded delivery (payload=...) is verified on the raw form body and routed', async () => {
    const body = new URLSearchParams({ payload: push(sha(21)) }).toString();
    const res = await deliver(s.http.url, {
      event: 'push',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.workflowId, `main-commit:Codertocat/Hello-World:${sha(21)}`);
  });

  it('a form body without payload is 400', async () => {
    const res = await deliver(s.http.url, {
      event: 'push',
      body: 'other=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(res.status, 400);
  });

  it('a signed body that is not a JSON object is 400', async () => {
    for (const body of ['{not json', '[1,2]', '"text"']) {
      const res = await deliver(s.http.url, { event: 'push', body });
      assert.equal(res.status, 400, body);
    }
  });

  it('a body over the limit is 413 and is not verified', async () => {
    const body = JSON.stringify({
      padding: 'x'.repeat(5000),
      repository: { full_name: 'Codertocat/Hello-World' },
    });
    const res = await deliver(s.http.url, { event: 'push', body });
    assert.equal(res.status, 413);
  });

  it('redelivery x5 starts one run and answers "already started" with its id', async () => {
    const delivery = randomUUID();
    const body = push(sha(22));
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await deliver(s.http.url, { event: 'push', body, delivery }));
    assert.deepEqual(
      answers.map((a) => [a.status, a.body.decision]),
      [[201, 'started'], ...Array(4).fill([200, 'already-started'])],
    );
    const ids = new Set(answers.map((a) => a.body.workflowId));
    assert.deepEqual([...ids], [`main-commit:Codertocat/Hello-World:${sha(22)}`]);
    assert.equal(
      s.starter.starts.filter((r) => r.stage === 'main-commit' && r.input.commit === sha(22)).length,
      1,
    );
  });

  it('Temporal unreachable without an outbox is 503 so GitHub shows a failed delivery', async () => {
    s.starter.down = true;
    try {
      const res = await deliver(s.http.url, { event: 'push', body: push(sha(23)) });
      assert.equal(res.status, 503);
      assert.match(String(res.body.reason), /no outbox/);
    } finally {
      s.starter.down = false;
    }
  });

  it('a start that fails for another reason is 500 with the reason', async () => {
    const broken = await serve({
      starter: { start: () => Promise.reject(new Error('namespace not found')) },
    });
    try {
      const res = await deliver(broken.http.url, { event: 'push', body: push(sha(24)) });
      assert.equal(res.status, 500);
      assert.match(String(res.body.reason), /namespace not found/);
    } finally {
      await broken.http.close();
    }
  });

  it('each delivery is one log line with id, event, repository, decision and workflow id; no secret, no signature', async () => {
    const delivery = randomUUID();
    const body = push(sha(25));
    const signature = await signBody(SECRET, body);
    await deliver(s.http.url, { event: 'push', body, delivery });
    await deliver(s.http.url, { event: 'push', body, delivery, secret: 'wrong-secret-value' });
    const lines = s.log.lines().filter((l) => l.delivery === delivery);
    assert.equal(lines.length, 2);
    assert.deepEqual(
      {
        ...lines[0],
        time: undefined,
        level: undefined,
        pid: undefined,
        hostname: undefined,
        reason: undefined,
      },
      {
        app: 'release-flow',
        msg: 'webhook delivery',
        delivery,
        event: 'push',
        repository: 'Codertocat/Hello-World',
        decision: 'started',
        workflowId: `main-commit:Codertocat/Hello-World:${sha(25)}`,
        status: 201,
        time: undefined,
        level: undefined,
        pid: undefined,
        hostname: undefined,
        reason: undefined,
      },
    );
    assert.equal(lines[1]!.status, 401);
    const text = s.log.text();
    assert.ok(!text.includes(SECRET), 'secret in logs');
    assert.ok(!text.includes(signature.slice('sha256='.length)), 'signature in logs');
    assert.ok(!text.includes('wrong-secret-value'));
  });
});

describe('pull requests from forks', () => {
  const opened = examplePayloads(['pull_request']).find(
    (e) => (e.payload as { action?: string }).action === 'opened',
  )!.payload;
  const withHeadRepo = (repo: unknown) => {
    const payload = structuredClone(opened) as { pull_request: { head: { repo: unknown } } };
    payload.pull_request.head.repo = repo;
    return payload;
  };
  const forkOf = (payload: unknown) => {
    const routed = routeEvent('pull_request', payload as Record<string, unknown>, [HELLO]);
    assert.equal(routed.kind, 'start');
    return (routed as { request: { input: { fork?: string } } }).request.input.fork;
  };

  it('a branch of the repository itself is no fork', () => {
    assert.equal(forkOf(opened), undefined);
  });

  it('a head in another repository names that fork; a deleted one says so', () => {
    assert.equal(forkOf(withHeadRepo({ full_name: 'mallory/Hello-World' })), 'mallory/Hello-World');
    assert.equal(forkOf(withHeadRepo(null)), '(deleted fork)');
    assert.equal(
      forkOf(withHeadRepo({ full_name: 'codertocat/hello-world' })),
      undefined,
      'names are case-blind',
    );
  });
});
