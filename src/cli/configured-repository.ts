/** The configured repository a command names, or a one-line error listing those configured. */
import { UserError } from '../common/errors';
import type { Config, RepositoryConfig } from '../config/schema';

export function repositoryOf(config: Readonly<Config>, name: string): RepositoryConfig {
  const repo = config.repositories.find((r) => r.name === name);
  if (!repo) {
    const known = config.repositories.map((r) => r.name).join(', ') || 'none';
    throw new UserError(
      'UNKNOWN_REPOSITORY',
      `repository ${name} is not configured (configured: ${known})`,
      'add it under repositories: in the config file, or check the spelling',
    );
  }
  return repo;
}
