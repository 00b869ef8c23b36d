/**
 * Loads the conventional-commits parser with a preset's options, the same pair the analyzer
 * builds (`new CommitParser({ ...preset.parser })`). The packages are ESM-only and
 * conventional-commits-parser exports only an `import` condition, so `require()` cannot reach
 * them from our CommonJS code; a dynamic `import()` can, once, at start-up.
 *
 * One departure, for speed only: issue references (`Closes #12`) are not extracted. They are
 * nine tenths of the parser's time on a long history, and no release rule reads them: a
 * reference line only moves text between body, footer and note text, never whether a note,
 * a type, a field or a revert exists. The differential test runs this exact parser against the
 * analyzer, references included, to hold that claim.
 */
import type { CommitPreset, ParseCommitMessage, ParsedCommit } from '../../domain/commit-analysis';

const cache = new Map<CommitPreset, Promise<ParseCommitMessage>>();

async function load(preset: CommitPreset): Promise<ParseCommitMessage> {
  const { CommitParser } = await import('conventional-commits-parser');
  const createPreset =
    preset === 'conventionalcommits'
      ? (await import('conventional-changelog-conventionalcommits')).default
      : (await import('conventional-changelog-angular')).default;
  const options = { ...(await createPreset()).parser, issuePrefixes: undefined, referenceActions: undefined };
  const parser = new CommitParser(options);
  return (message) => parser.parse(message) as unknown as ParsedCommit;
}

/** A parse function for `preset`; parsers are reused, the parser holds no state between messages. */
export function loadCommitParser(preset: CommitPreset): Promise<ParseCommitMessage> {
  let parser = cache.get(preset);
  if (!parser) {
    parser = load(preset);
    cache.set(preset, parser);
  }
  return parser;
}
