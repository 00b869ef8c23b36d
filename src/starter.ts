/**
 * Programmatic starts used by the CLI, the HTTP server and the webhook receiver. Workflow ids
 * derive from business keys (see workflows/shared/messages.ts), and a start that finds the run already
 * there answers "already started" with its id instead of starting a second one.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
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
