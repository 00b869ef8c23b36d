/**
 * The newcomer's tour behind `npm start` with no configuration: signed GitHub-shaped deliveries
 * to our own receiver check a pull request (policy and PR build), then take the demo repository
 * through main-commit -> tag -> staging -> production, and the terminal says where each stage is in the Temporal UI and how
 * to break production and press the three buttons. A second `npm start` resumes: the workflow
 * ids are the same, so every delivery answers "already started" and the tour follows the runs.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { workflowUrl } from '../common/ui-links';
import { readStatus, resultOf } from '../starter';
import type { AnyPipelineStatus as PipelineStatus } from '../workflows/pipeline-status';
import type { PullRequestGateVerdict } from '../workflows/pr-gate/messages';
import { DEMO_REPOSITORY, type DemoPullRequest } from './demo-repository';

export interface DemoOptions {
  client: Client;
  namespace: string;
  receiverUrl: string;
  secret: string;
  /** The commits to release, oldest first. */
  releases: string[];
  /** A branch to open a pull request for first (stage 0: the policy and the PR build). */
  pullRequest?: DemoPullRequest;
  uiUrl?: string;
  print: (line: string) => void;
}

interface Delivery {
  status: number;
  body: { decision?: string; workflowId?: string; reason?: string };
}

/** The `repository` object of a delivery, as GitHub sends it for OWNER/NAME. */
function repositoryPayloadOf(fullName: string) {
  const [owner = fullName, name = fullName] = fullName.split('/');
  return {
    id: 1,
    name,
    full_name: fullName,
    owner: { login: owner, name: owner },
    default_branch: 'main',
    master_branch: 'main',
  };
}

const repositoryPayload = repositoryPayloadOf(DEMO_REPOSITORY);

function pushPayload(ref: string, after: string, repository = DEMO_REPOSITORY) {
  return {
    ref,
    before: '0'.repeat(40),
    after,
    created: true,
    deleted: false,
    forced: false,
    base_ref: null,
    compare: '',
    commits: [],
    head_commit: { id: after, message: 'demo', timestamp: new Date().toISOString() },
    repository: repositoryPayloadOf(repository),
    pusher: { name: 'release-flow-demo', email: 'demo@release-flow.invalid' },
    sender: { login: 'release-flow-demo' },
  };
}

function pullRequestPayload(pr: DemoPullRequest) {
  return {
    action: 'opened',
    number: pr.number,
    pull_request: {
      number: pr.number,
      state: 'open',
      title: `${pr.branch}: a demo pull request`,
      head: { ref: pr.branch, sha: pr.head },
      base: { ref: 'main' },
    },
    repository: repositoryPayload,
    sender: { login: 'release-flow-demo' },
  };
}

/** Where deliveries go and how they are signed. */
export type DemoReceiver = Pick<DemoOptions, 'receiverUrl' | 'secret'>;

/** Posts one delivery to the receiver, signed and headed as GitHub sends it. */
async function deliver(opts: DemoReceiver, event: string, payload: unknown): Promise<Delivery> {
  const { sign } = await import('@octokit/webhooks-methods');
  const body = JSON.stringify(payload);
  const res = await fetch(opts.receiverUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': await sign(opts.secret, body),
      'user-agent': 'GitHub-Hookshot/release-flow-demo',
    },
    body,
  });
  return { status: res.status, body: (await res.json()) as Delivery['body'] };
}

/** A push of `ref` to `after`, of the demo repository unless another is named. */
export async function deliverPush(
  opts: DemoReceiver,
  ref: string,
  after: string,
  repository?: string,
): Promise<Delivery> {
  return await deliver(opts, 'push', pushPayload(ref, after, repository));
}

/** Stage 0: a `pull_request` opened delivery, then the gate's verdict and the PR build. */
async function gatePullRequest(opts: DemoOptions, pr: DemoPullRequest): Promise<void> {
  const delivery = await deliver(opts, 'pull_request', pullRequestPayload(pr));
  const gate = (await follow(
    opts,
    delivery,
    `PR gate of #${pr.number} ${pr.branch}`,
  )) as PullRequestGateVerdict;
  const statuses = [gate.status, ...(gate.build?.status ? [gate.build.status] : [])];
  for (const s of statuses) opts.print(`demo:   ${s.context}: ${s.state} (${s.description})`);
  opts.print('demo:   (statuses of local repositories are kept in <stateDir>/statuses.jsonl)');
}

function link(opts: DemoOptions, workflowId: string): string {
  return opts.uiUrl ? workflowUrl({ uiUrl: opts.uiUrl, namespace: opts.namespace, workflowId }) : workflowId;
}

async function follow(opts: DemoOptions, delivery: Delivery, what: string): Promise<unknown> {
  const id = delivery.body.workflowId;
  if (!id)
    throw new Error(`the receiver did not start ${what}: ${delivery.status} ${delivery.body.reason ?? ''}`);
  opts.print(`demo: ${what} ${delivery.body.decision ?? ''} -> ${link(opts, id)}`);
  return await resultOf(opts.client, id);
}

/** Releases one commit: main-commit, then its tag through staging to production. */
async function release(
  opts: DemoOptions,
  commit: string,
): Promise<{ version: string; productionWorkflowId: string }> {
  const main = (await follow(
    opts,
    await deliverPush(opts, 'refs/heads/main', commit),
    'main-commit pipeline',
  )) as {
    tag: string | null;
    tagWorkflowId?: string;
  };
  const version = main.tag ?? (await lastTagOf(opts, commit));
  opts.print(`demo: main-commit done: dev runs ${commit.slice(0, 12)}, release tag ${version}`);
  // The demo repository is local: its main-commit pipeline started the tag pipeline (runs of
  // a release-flow before that get the tag's push, as GitHub would send it).
  const tagDelivery: Delivery = main.tagWorkflowId
    ? {
        status: 200,
        body: { decision: 'started by the main-commit pipeline', workflowId: main.tagWorkflowId },
      }
    : await deliverPush(opts, `refs/tags/${version}`, commit);
  const tag = (await follow(opts, tagDelivery, 'tag pipeline')) as {
    productionWorkflowId?: string;
  };
  const productionWorkflowId = tag.productionWorkflowId ?? `production:${DEMO_REPOSITORY}:${version}`;
  opts.print(`demo: staging passed; production pipeline -> ${link(opts, productionWorkflowId)}`);
  return { version, productionWorkflowId };
}

/**
 * Runs the tour: two releases (so a rollback has a version to go back to); resolves when the
 * second is being watched in production.
 */
export async function runDemo(opts: DemoOptions): Promise<{ productionWorkflowId: string; version: string }> {
  opts.print(`demo: releasing ${DEMO_REPOSITORY} (a local repository) through every stage, twice`);
  if (opts.pullRequest) await gatePullRequest(opts, opts.pullRequest);
  let last: { version: string; productionWorkflowId: string } | undefined;
  for (const commit of opts.releases) {
    last = await release(opts, commit);
    await waitForWatch(opts, last.productionWorkflowId);
  }
  if (!last) throw new Error('the demo repository has no commits to release');
  const { version, productionWorkflowId } = last;
  const status = await waitForWatch(opts, productionWorkflowId);
  opts.print(
    [
      `demo: ${version} runs in production (${status.state}, ${status.step}). Try the buttons:`,
      '  break production:   npx release-flow demo break',
      `  then decide:        npx release-flow decide ${DEMO_REPOSITORY} ${version} rollback --by you --reason "demo"`,
      `                      (or emergency, or fail-forward; or in the UI: Send a Signal on ${link(opts, productionWorkflowId)})`,
      'the emergency path, end to end:',
      '  1. break production: npx release-flow demo break',
      `  2. emergency:        npx release-flow decide ${DEMO_REPOSITORY} ${version} emergency --by you --reason "demo"`,
      '                      (ticket, wiki page and branch HOT-<n>; staging hotfix-only)',
      '  3. push a fix:       npx release-flow demo hotfix   (a fix(HOT-<n>) commit on HOT-<n>, pushed to the receiver)',
      '  4. follow it:        npx release-flow hotfix status  (closed once the hotfix is healthy in production)',
      '                      npx release-flow lock status    (staging back to normal mode)',
      `  see everything:     npx release-flow status`,
    ].join('\n'),
  );
  return { productionWorkflowId, version };
}

async function lastTagOf(opts: DemoOptions, commit: string): Promise<string> {
  const status = await readStatus(opts.client, `main-commit:${DEMO_REPOSITORY}:${commit}`);
  if (!status?.version) throw new Error('the demo commit was not released');
  return status.version;
}

async function waitForWatch(opts: DemoOptions, workflowId: string): Promise<PipelineStatus> {
  for (;;) {
    const status = await readStatus(opts.client, workflowId).catch(() => undefined);
    if (status && (status.health || status.state !== 'running')) return status;
    await new Promise((r) => setTimeout(r, 500));
  }
}
