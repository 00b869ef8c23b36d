/** `OWNER/REPO` as the adapters and the CLI take it. */
import { UserError } from '../../common/errors';

export interface RepositoryRef {
  owner: string;
  repo: string;
}

// GitHub's own limits: owners are alphanumerics and single hyphens, repositories add `.` and `_`.
const FULL_NAME = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})$/;

/** True when `text` is a repository's full name as GitHub spells it (`acme/app`). */
export function isRepositoryFullName(text: string): boolean {
  const match = FULL_NAME.exec(text);
  return match !== null && match[2] !== '.' && match[2] !== '..';
}

export function parseRepositoryRef(text: string): RepositoryRef {
  const match = FULL_NAME.exec(text.trim());
  if (!match || match[2] === '.' || match[2] === '..') {
    throw new UserError(
      'INVALID_REPOSITORY',
      `${JSON.stringify(text)} is not OWNER/REPO`,
      'pass the repository as it appears in its GitHub URL, e.g. acme/app',
    );
  }
  return { owner: match[1]!, repo: match[2]! };
}

export function fullName(ref: RepositoryRef): string {
  return `${ref.owner}/${ref.repo}`;
}
