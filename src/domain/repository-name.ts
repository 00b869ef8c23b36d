/** A repository's full name as GitHub spells it: the rule the config and the GitHub adapters share. */

// GitHub's own limits: owners are alphanumerics and single hyphens, repositories add `.` and `_`.
export const REPOSITORY_FULL_NAME = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})$/;

/** True when `text` is a repository's full name as GitHub spells it (`acme/app`). */
export function isRepositoryFullName(text: string): boolean {
  const match = REPOSITORY_FULL_NAME.exec(text);
  return match !== null && match[2] !== '.' && match[2] !== '..';
}
