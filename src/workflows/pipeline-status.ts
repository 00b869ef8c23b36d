/**
 * What a client (CLI, board, demo) reads from any pipeline's `status` query without knowing
 * its stage first: the fields every pipeline shows, and each stage's own fields, present when
 * the run is of that stage. Workflows use their stage's status type instead.
 */
import type { ProductionStatus } from './production/messages';
import { statusQueryOf, type PipelineStatus } from './shared/messages';
import type { TagStatus } from './tag/messages';

export type AnyPipelineStatus = PipelineStatus &
  Partial<Omit<ProductionStatus, keyof PipelineStatus>> &
  Partial<Omit<TagStatus, keyof PipelineStatus>>;

/** The `status` query of a pipeline of any stage. */
export const anyPipelineStatusQuery = statusQueryOf<AnyPipelineStatus>();
