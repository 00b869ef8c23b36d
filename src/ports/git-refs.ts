/**
 * Writing release references: the release tag of stage 1 and the `HOT-<n>` branch of an
 * emergency. Both are idempotent by name, so a retried activity
 * finds its own earlier work; a name already used for something else is a definitive refusal.
 */

export interface GitRefs {
  /**
   * Tags `commit` as `tag`. `created` is false when the tag already marks that commit; a
   * definitive `TagConflict` when it marks another.
   */
  createTag(request: { tag: string; commit: string }): Promise<{ created: boolean }>;
  /**
   * Creates `branch` at the commit `tag` marks. `created` is false when the branch exists and
   * contains that commit (it was made before and may have moved on with hotfix commits); a
   * definitive `IncidentIdTaken` when it exists without it, `UnknownCommit` when the tag is missing.
   */
  createBranchFromTag(request: {
    branch: string;
    tag: string;
  }): Promise<{ created: boolean; commit: string }>;
}
