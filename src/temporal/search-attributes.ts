/**
 * Custom search attributes that make releases findable in the Temporal UI
 * (e.g. `ReleaseRepository = "acme/shop" AND ReleaseStage = "production"`).
 * Registered by the embedded dev server at start, by docker compose's setup job, and by
 * `temporal operator search-attribute create` on other clusters (see docs/running-in-production.md "Joining an existing Temporal cluster").
 */
import {
  ReleaseCommit,
  ReleaseRepository,
  ReleaseStage,
  ReleaseVersion,
} from '../workflows/shared/search-attributes';

export { ReleaseCommit, ReleaseRepository, ReleaseStage, ReleaseVersion };

export const releaseSearchAttributes = [ReleaseRepository, ReleaseVersion, ReleaseStage, ReleaseCommit];

/** `Name=Type` in the Temporal CLI's spelling, for `--search-attribute`. */
export function cliSearchAttributeFlags(): string[] {
  const cliType: Record<string, string> = { KEYWORD: 'Keyword', TEXT: 'Text', INT: 'Int', BOOL: 'Bool' };
  return releaseSearchAttributes.flatMap((key) => [
    '--search-attribute',
    `${key.name}=${cliType[key.type] ?? 'Keyword'}`,
  ]);
}
