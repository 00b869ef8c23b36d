// The preset packages ship no types; we use only the parser options they hand the analyzer.
declare module 'conventional-changelog-angular' {
  import type { ParserOptions } from 'conventional-commits-parser' with { 'resolution-mode': 'import' };
  export default function createPreset(config?: Record<string, unknown>): { parser: ParserOptions };
}

declare module 'conventional-changelog-conventionalcommits' {
  import type { ParserOptions } from 'conventional-commits-parser' with { 'resolution-mode': 'import' };
  export default function createPreset(config?: Record<string, unknown>): { parser: ParserOptions };
}
