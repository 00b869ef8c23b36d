/**
 * The keys of the search attributes that make releases findable in the Temporal UI (docs/pipelines-and-decisions.md
 * "The pipelines"): set by the workflows, registered on the server by `temporal/search-attributes`.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const ReleaseRepository = defineSearchAttributeKey('ReleaseRepository', SearchAttributeType.KEYWORD);
export const ReleaseVersion = defineSearchAttributeKey('ReleaseVersion', SearchAttributeType.KEYWORD);
export const ReleaseStage = defineSearchAttributeKey('ReleaseStage', SearchAttributeType.KEYWORD);
export const ReleaseCommit = defineSearchAttributeKey('ReleaseCommit', SearchAttributeType.KEYWORD);
