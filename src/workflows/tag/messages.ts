/**
 * What the tag pipeline (`tagReleaseWorkflow`, id `tag:<repository>:<vX.Y.Z>`) takes, can be
 * told and ends with. Wire names are a public API: keep them stable.
 *
 *   signal  promote  {"by":"alice","reason":"..."}   (only while `awaitingPromotion`)
 *   query   status   TagStatus
 */
import { defineSignal } from '@temporalio/workflow';
import { statusQueryOf, type PipelineStatus } from '../shared/messages';

export interface TagReleaseInput {
  repository: string;
  /** The release tag (`v1.3.0`), matching the repository's release tag pattern. */
  tag: string;
  /** The commit the tag marks (its artifact in the dev repository is tagged with this hash). */
  commit: string;
}

export interface TagReleaseOutcome {
  state: 'promoted' | 'preempted';
  version: string;
  /** The production pipeline started by the hand-off. */
  productionWorkflowId?: string;
  promotedBy?: string;
  preemptedBy?: string;
}

/** The tag pipeline's status: a pipeline's, and whether it waits for `promote`. */
export interface TagStatus extends PipelineStatus {
  /** A repository with requirePromote: staging passed, waiting for `promote`. */
  awaitingPromotion?: boolean;
}

export const tagStatusQuery = statusQueryOf<TagStatus>();

export interface PromoteRequest {
  by: string;
  reason?: string;
}

/** To a tag pipeline waiting for promotion: hand the version to production. */
export const promoteSignal = defineSignal<[PromoteRequest]>('promote');
