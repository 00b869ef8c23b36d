/**
 * The hotfix pipeline's name, id and input (docs/pipelines-and-decisions.md "Hotfix flow"), imported by workflows and
 * clients. One run per pushed head of a `HOT-<n>` branch: `hotfix:<repository>:HOT-<n>:<sha>`,
 * so a redelivered push finds the run that already exists. It answers the pipelines' `status`
 * query (shared/messages.ts) with stage `hotfix`.
 */

export const HOTFIX_WORKFLOW_TYPE = 'hotfixWorkflow';

export const HOTFIX_BRANCH_PATTERN = /^HOT-[1-9]\d*$/;

export function hotfixWorkflowId(repository: string, branch: string, commit: string): string {
  return `hotfix:${repository}:${branch}:${commit}`;
}

/** The per-incident lock: hotfix pushes of one incident run one at a time, in push order. */
export function hotfixLockResource(repository: string, branch: string): string {
  return `hotfix:${repository}:${branch}`;
}

export interface HotfixInput {
  repository: string;
  /** `HOT-<n>`: the incident, its ticket and its branch. */
  branch: string;
  /** Full commit hash of the pushed head. */
  commit: string;
}

export type HotfixOutcome =
  | {
      state: 'released';
      id: string;
      version: string;
      brokenVersion: string;
      tagWorkflowId: string;
    }
  | {
      /** The incident is closed: the push is answered with the reason and nothing runs. */
      state: 'ignored';
      id: string;
      reason: string;
    };
