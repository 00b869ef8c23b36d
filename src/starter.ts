/**
 * How every door reaches a workflow: the webhook receiver, the CLI, the board, the Slack door
 * and the demo start pipelines, signal and update them, and read their `status` query through
 * this module, so each door gets the same answers for the same situations.
 *
 * Starts: workflow ids derive from business keys (see workflows/shared/messages.ts), and a start
 * that finds the run already there answers "already started" with its id instead of starting a
 * second one. Updates: one rule for what a refusal means (see `sendUpdate`).
 */
import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  isGrpcServiceError,
  type Client,
  type QueryDefinition,
  type SignalDefinition,
  type UpdateDefinition,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { decisionRejection } from './domain/production-decisions';
import { anyPipelineStatusQuery, type AnyPipelineStatus } from './workflows/pipeline-status';
import { LOCK_WORKFLOW_TYPE, lockWorkflowId } from './workflows/lock/messages';
import { promoteSignal, type PromoteRequest } from './workflows/tag/messages';
import { decideUpdate, type DecideRequest, type DecisionRecord } from './workflows/production/messages';
import { ReleaseCommit, ReleaseRepository, ReleaseStage, ReleaseVersion } from './temporal/search-attributes';
import { readinessWorkflow } from './workflows/readiness/readiness-workflow';
import { PipelineWorkflowTypes, pipelineWorkflowId, type PipelineStage } from './workflows/shared/messages';
import { type MainCommitInput } from './workflows/main-commit/messages';
import { type ProductionReleaseInput } from './workflows/production/messages';
import { type TagReleaseInput } from './workflows/tag/messages';
import { HOTFIX_WORKFLOW_TYPE, hotfixWorkflowId, type HotfixInput } from './workflows/hotfix/messages';
import {
  PullRequestGateWorkflowTypes,
  pullRequestGateWorkflowId,
  pullRequestRecheckWorkflowId,
  type PullRequestGateInput,
  type RecheckOpenPullRequestsInput,
} from './workflows/pr-gate/messages';

/** Start a readiness probe and wait for its answer (used by GET /readyz). */
export async function runReadinessProbe(
  client: Client,
  taskQueue: string,
  timeoutMs: number,
): Promise<{ answeredBy: string }> {
  const probeId = randomUUID();
  return await client.workflow.execute(readinessWorkflow, {
    workflowId: `release-flow-readiness-${probeId}`,
    taskQueue,
    args: [{ probeId }],
    workflowExecutionTimeout: timeoutMs,
  });
}

export interface StartResult {
  workflowId: string;
  /** False when a run with this id already existed (running or closed): nothing was started. */
  started: boolean;
}

/** A tag pipeline for a version production already ran: refused unless a person forces it. */
export class AlreadyReleased extends Error {
  constructor(
    readonly repository: string,
    readonly version: string,
    readonly releasedAt: string,
  ) {
    super(
      `${version} of ${repository} was already released (reached production ${releasedAt}): not started again`,
    );
    this.name = 'AlreadyReleased';
  }
}

/** What the starts need of the release ledger (src/adapters/local/release-ledger.ts). */
export interface ReleasedVersions {
  released(repository: string, version: string): { releasedAt: string } | null;
  recordForced(forced: { repository: string; version: string; by: string; reason: string }): void;
}

/** A person's override of "already released", kept in the ledger. */
export interface ForceRelease {
  by: string;
  reason: string;
}

/**
 * Refuses a tag pipeline for a released version (AlreadyReleased), or records the person who
 * forced it. Both doors call it: the receiver through its starter, the CLI directly.
 */
export function refuseReleased(
  releases: ReleasedVersions | undefined,
  input: { repository: string; tag: string },
  force?: ForceRelease,
): void {
  const earlier = releases?.released(input.repository, input.tag);
  if (!earlier) return;
  if (!force) throw new AlreadyReleased(input.repository, input.tag, earlier.releasedAt);
  releases!.recordForced({ repository: input.repository, version: input.tag, ...force });
}

export interface StartOptions {
  taskQueue: string;
  /**
   * Whether the server knows our search attributes (the embedded dev server and compose do;
   * a cluster where they were not created would refuse the start).
   */
  searchAttributes?: boolean;
  /** Versions that reached production: a tag start for one is refused (AlreadyReleased). */
  releases?: ReleasedVersions;
  /** Start the tag pipeline of a released version anyway; recorded with who and why. */
  force?: ForceRelease;
}

interface StartAttributes {
  repository: string;
  /** The ReleaseStage value: a pipeline stage, `pr-gate` or `pr-recheck`. */
  stage: string;
  commit?: string;
  version?: string;
}

/**
 * Starts `workflowType` under `workflowId` unless a run with that id exists (running or closed):
 * a closed run with the id is the same release or check, never run a second time.
 */
async function startOnce(
  client: Client,
  workflowType: string,
  workflowId: string,
  input: unknown,
  attributes: StartAttributes,
  opts: StartOptions,
): Promise<StartResult> {
  try {
    await client.workflow.start(workflowType, {
      workflowId,
      taskQueue: opts.taskQueue,
      args: [input],
      // A person forcing a re-release may run the id again; anything else never reruns a closed run.
      workflowIdReusePolicy: opts.force ? 'ALLOW_DUPLICATE' : 'REJECT_DUPLICATE',
      ...(opts.searchAttributes === false
        ? {}
        : {
            typedSearchAttributes: [
              { key: ReleaseRepository, value: attributes.repository },
              { key: ReleaseStage, value: attributes.stage },
              ...(attributes.commit ? [{ key: ReleaseCommit, value: attributes.commit }] : []),
              ...(attributes.version ? [{ key: ReleaseVersion, value: attributes.version }] : []),
            ],
          }),
    });
    return { workflowId, started: true };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, started: false };
    throw err;
  }
}

function startStage(
  client: Client,
  stage: PipelineStage,
  workflowId: string,
  input: MainCommitInput | TagReleaseInput | ProductionReleaseInput,
  attributes: Omit<StartAttributes, 'stage'>,
  opts: StartOptions,
): Promise<StartResult> {
  return startOnce(client, PipelineWorkflowTypes[stage], workflowId, input, { ...attributes, stage }, opts);
}

/** Stage 1 for a pushed head commit of the default branch. */
export function startMainCommit(
  client: Client,
  input: MainCommitInput,
  opts: StartOptions,
): Promise<StartResult> {
  const id = pipelineWorkflowId('main-commit', input.repository, input.commit);
  return startStage(client, 'main-commit', id, input, input, opts);
}

/** Stage 2 for a release tag; refused for a version already in production (see refuseReleased). */
export async function startTagRelease(
  client: Client,
  input: TagReleaseInput,
  opts: StartOptions,
): Promise<StartResult> {
  refuseReleased(opts.releases, input, opts.force);
  const id = pipelineWorkflowId('tag', input.repository, input.tag);
  return startStage(client, 'tag', id, input, { ...input, version: input.tag }, opts);
}

/** Stage 3 (normally started by the tag pipeline's hand-off, or by `promote`). */
export function startProductionRelease(
  client: Client,
  input: ProductionReleaseInput,
  opts: StartOptions,
): Promise<StartResult> {
  const id = pipelineWorkflowId('production', input.repository, input.version);
  return startStage(client, 'production', id, input, input, opts);
}

/** Stage 0 for a pull request head: `pr-gate:<repository>#<number>:<head sha>`. */
export function startPullRequestGate(
  client: Client,
  input: PullRequestGateInput,
  opts: StartOptions,
): Promise<StartResult> {
  const id = pullRequestGateWorkflowId(input.repository, input.number, input.head);
  return startOnce(
    client,
    PullRequestGateWorkflowTypes.gate,
    id,
    input,
    { repository: input.repository, stage: 'pr-gate', commit: input.head },
    opts,
  );
}

/** Re-check of every open pull request after the base moved to `commit`: `pr-recheck:<repository>:<commit>`. */
export function startPullRequestRecheck(
  client: Client,
  input: RecheckOpenPullRequestsInput & { commit: string },
  opts: StartOptions,
): Promise<StartResult> {
  const id = pullRequestRecheckWorkflowId(input.repository, input.commit);
  return startOnce(
    client,
    PullRequestGateWorkflowTypes.recheck,
    id,
    input,
    { repository: input.repository, stage: 'pr-recheck', commit: input.commit },
    opts,
  );
}

/** The hotfix pipeline of a push to `HOT-<n>`: `hotfix:<repository>:HOT-<n>:<sha>` (docs/pipelines-and-decisions.md "Hotfix flow"). */
export function startHotfix(client: Client, input: HotfixInput, opts: StartOptions): Promise<StartResult> {
  const id = hotfixWorkflowId(input.repository, input.branch, input.commit);
  return startOnce(
    client,
    HOTFIX_WORKFLOW_TYPE,
    id,
    input,
    { repository: input.repository, stage: 'hotfix', commit: input.commit },
    opts,
  );
}

/**
 * A query's answer (of `runId`, else the latest run), or undefined when no run has the id.
 * Other failures (Temporal away, no worker to answer) propagate.
 */
export async function readQuery<R>(
  client: Client,
  workflowId: string,
  query: QueryDefinition<R, []>,
  runId?: string,
): Promise<R | undefined> {
  try {
    return await client.workflow.getHandle(workflowId, runId).query(query);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** Any pipeline's `status` (of `runId`, else the latest run), or undefined when no run has the id. */
export function readStatus(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<AnyPipelineStatus | undefined> {
  return readQuery(client, workflowId, anyPipelineStatusQuery, runId);
}

/** The runs a visibility query lists, newest first, at most `max`. */
export async function listRuns(client: Client, query: string, max: number): Promise<WorkflowExecutionInfo[]> {
  const out: WorkflowExecutionInfo[] = [];
  if (max <= 0) return out;
  for await (const wf of client.workflow.list({ query, pageSize: 100 })) {
    out.push(wf);
    if (out.length >= max) break;
  }
  return out;
}

/** What a run returned (waits for it to close); its failure is thrown. */
export async function resultOf(client: Client, workflowId: string): Promise<unknown> {
  return await client.workflow.getHandle(workflowId).result();
}

/** How an update ended, as every door reports it. */
export type UpdateAnswer<R> =
  /** The workflow took it; its result. */
  | { kind: 'accepted'; result: R }
  /** The workflow refused it (its validator or handler), with the reason it gave. */
  | { kind: 'rejected'; reason: string }
  /** The run has ended, so nothing can take the update; `status` is Temporal's (`completed`, `failed`...). */
  | { kind: 'ended'; status: string }
  /** No run has the id. */
  | { kind: 'not-found' }
  /** Temporal did not answer (or answered with a failure of its own); `error` is what it threw. */
  | { kind: 'unavailable'; reason: string; error: unknown };

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

/**
 * Sends an update and says how it ended, with one rule for a refusal: the workflow's own
 * rejection (WorkflowUpdateFailedError) carries its reason; any other failure is explained by
 * what Temporal knows of the run: ended, absent, or still running (then Temporal did not answer).
 */
export async function sendUpdate<R, A>(
  client: Client,
  workflowId: string,
  update: UpdateDefinition<R, [A]>,
  arg: A,
): Promise<UpdateAnswer<R>> {
  const handle = client.workflow.getHandle(workflowId);
  try {
    return { kind: 'accepted', result: await handle.executeUpdate(update, { args: [arg] }) };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      return { kind: 'rejected', reason: err.cause?.message ?? err.message };
    }
    const described = await handle.describe().then(
      (d) => d.status.name,
      (e: unknown) => (e instanceof WorkflowNotFoundError ? null : undefined),
    );
    if (described === null) return { kind: 'not-found' };
    if (described && described !== 'RUNNING') return { kind: 'ended', status: described.toLowerCase() };
    return { kind: 'unavailable', reason: `Temporal did not answer: ${firstLine(err)}`, error: err };
  }
}

/** A decision on a production release, as the board, Slack and the CLI report it. */
export type DecisionAnswer =
  | { accepted: true; decision: DecisionRecord }
  | {
      accepted: false;
      /** `rejected`: the release refused it or has ended; `not-found`: no such release. */
      refusal: 'rejected' | 'not-found' | 'unavailable';
      reason: string;
      /** With `unavailable`: what Temporal threw. */
      error?: unknown;
    };

/**
 * The production pipeline's `decide` update, so the workflow's own rules (awaited, once,
 * `deciders`) answer. A release that has ended says so, and names the decision it took.
 */
export async function sendDecision(
  client: Client,
  workflowId: string,
  request: DecideRequest,
): Promise<DecisionAnswer> {
  const answer = await sendUpdate(client, workflowId, decideUpdate, request);
  switch (answer.kind) {
    case 'accepted':
      return { accepted: true, decision: answer.result };
    case 'rejected':
      return { accepted: false, refusal: 'rejected', reason: answer.reason };
    case 'not-found':
      return { accepted: false, refusal: 'not-found', reason: `no production release ${workflowId}` };
    case 'unavailable':
      return { accepted: false, refusal: 'unavailable', reason: answer.reason, error: answer.error };
    case 'ended': {
      const status = await readStatus(client, workflowId).catch(() => undefined);
      const state = status?.state ?? answer.status;
      const taken = status?.decisions?.[status.decisions.length - 1];
      const earlier = taken
        ? decisionRejection({ awaiting: false, taken, notAwaitedBecause: '' }, undefined, request)
        : null;
      const ended = `the release has ended (${state})`;
      return {
        accepted: false,
        refusal: 'rejected',
        reason: earlier ? `${earlier}; ${ended}` : `no decision is awaited: ${ended}`,
      };
    }
  }
}

/** Hands a tag pipeline waiting for `promote` to production. */
export async function promote(client: Client, workflowId: string, request: PromoteRequest): Promise<void> {
  await client.workflow.getHandle(workflowId).signal(promoteSignal, request);
}

/**
 * Signals the lock of `resource`, starting its workflow first when no run is open (a lock is
 * otherwise started by the first pipeline that asks for it).
 */
export async function startLockWithSignal<A>(
  client: Client,
  resource: string,
  signal: SignalDefinition<[A]>,
  arg: A,
  taskQueue: string,
): Promise<void> {
  await client.workflow.signalWithStart(LOCK_WORKFLOW_TYPE, {
    workflowId: lockWorkflowId(resource),
    taskQueue,
    args: [{ resource }],
    signal,
    signalArgs: [arg],
  });
}

/** Temporal could not be reached (no connection, unavailable, or no answer in time). */
export class TemporalUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TemporalUnavailable';
  }
}

// gRPC status codes that mean "the server did not answer", not "the server said no". CANCELLED
// without our asking is the server dropping a call whose deadline its own context saw pass.
const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;
const CANCELLED = 1;
const CONNECTION_TEXT =
  /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENOTFOUND|No connection established|connection (refused|closed)/i;

// gRPC status codes of a server that answered but failed the call itself (its store failed under
// load, it aborted): worth another attempt later, never a reason to drop a delivery.
const SERVER_FAILURE_CODES = new Set([
  2 /* UNKNOWN */, 8 /* RESOURCE_EXHAUSTED */, 10 /* ABORTED */, 13 /* INTERNAL */,
]);

/** True when err, or any error in its cause chain, is Temporal failing the call on its side. */
export function isTemporalServerFailure(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e) && SERVER_FAILURE_CODES.has(e.code)) return true;
  }
  return false;
}

/** True when err, or any error in its cause chain, says Temporal was not reached. */
export function isTemporalUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof TemporalUnavailable) return true;
    if (isGrpcServiceError(e) && [UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED].includes(e.code)) return true;
    if (e instanceof Error && CONNECTION_TEXT.test(e.message)) return true;
  }
  return false;
}
