/**
 * The incident's story on its ticket (docs/pipelines-and-decisions.md "Hotfix flow"): each step of a hotfix (tagged,
 * staged, in production) is a comment on the `HOT-<n>` ticket, once per step and version.
 * Best effort: a tracker that is away, or a ticket not filed yet, never holds a pipeline.
 */
import { log, patched, proxyActivities } from '@temporalio/workflow';
import type { PipelineActivities } from '../../activities/pipeline';

/** Pipelines of a hotfix comment on the incident's ticket; runs begun before it do not. */
export const INCIDENT_COMMENTS_PATCH = 'incident-comments';

const comments = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 3, initialInterval: '2 seconds' },
});

/** Comments `markdown` on incident `id` once per `step`; never throws. */
export async function commentOnIncident(request: {
  repository: string;
  id: string;
  step: string;
  markdown: string;
}): Promise<void> {
  if (!patched(INCIDENT_COMMENTS_PATCH)) return;
  try {
    const answer = await comments.commentOnIncident.executeWithOptions(
      { summary: `comment on ${request.id}: ${request.step}` },
      [
        {
          repository: request.repository,
          id: request.id,
          key: `${request.id}/${request.step}`,
          markdown: request.markdown,
        },
      ],
    );
    if (!answer.added && answer.note)
      log.warn('incident comment not added', { id: request.id, note: answer.note });
  } catch (err) {
    log.warn('incident comment not added', { id: request.id, err });
  }
}
