/** `OWNER/REPO` as the adapters and the CLI take it. */
import { UserError } from '../../common/errors';
import { REPOSITORY_FULL_NAME as FULL_NAME } from '../../domain/repository-name';

export interface RepositoryRef {
  owner: string;
  repo: string;
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
