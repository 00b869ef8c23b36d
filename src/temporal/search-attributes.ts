/**
 * Custom search attributes that make releases findable in the Temporal UI
 * (e.g. `ReleaseRepository = "acme/shop" AND ReleaseStage = "production"`).
 * Registered by the embedded dev server at start, by docker compose's setup job, and by
 * `temporal operator search-attribute create` on other clusters (see README).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const ReleaseRepository = defineSearchAttributeKey('ReleaseRepository', SearchAttributeType.KEYWORD);
export const ReleaseVersion = defineSearchAttributeKey('ReleaseVersion', SearchAttributeType.KEYWORD);
export const ReleaseStage = defineSearchAttributeKey('ReleaseStage', SearchAttributeType.KEYWORD);
export const ReleaseCommit = defineSearchAttributeKey('ReleaseCommit', SearchAttributeType.KEYWORD);

export const releaseSearchAttributes = [ReleaseRepository, ReleaseVersion, ReleaseStage, ReleaseCommit];

/** `Name=Type` in the Temporal CLI's spelling, for `--search-attribute`. */
export function cliSearchAttributeFlags(): string[] {
  const cliType: Record<string, string> = { KEYWORD: 'Keyword', TEXT: 'Text', INT: 'Int', BOOL: 'Bool' };
  return releaseSearchAttributes.flatMap((key) => [
    '--search-attribute',
    `${key.name}=${cliType[key.type] ?? 'Keyword'}`,
  ]);
}
