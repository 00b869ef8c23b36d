/**
 * Opens the repository a command asks about and refuses, in one line each, the copies whose
 * history cannot answer release questions: not a repository, no commits, shallow clones.
 */
import { LocalGitRepository } from '../adapters/local/git-repository';
import { UserError } from '../common/errors';

export async function openCompleteRepository(directory: string): Promise<LocalGitRepository> {
  const repo = await LocalGitRepository.open(directory);
  const { complete, hasCommits } = await repo.completeness();
  if (!hasCommits) {
    throw new UserError('EMPTY_REPOSITORY', `${repo.directory} has no commits yet`, 'commit something first');
  }
  if (!complete) {
    throw new UserError(
      'SHALLOW_CLONE',
      `${repo.directory} is a shallow clone: release tags and older commits may be missing, so the answer could be wrong`,
      'run `git fetch --unshallow --tags` (in CI, check out with full depth, e.g. fetch-depth: 0)',
    );
  }
  return repo;
}
