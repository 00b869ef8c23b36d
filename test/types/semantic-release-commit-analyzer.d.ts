// The analyzer ships no types; the differential test and the benchmark call only this.
declare module '@semantic-release/commit-analyzer' {
  export function analyzeCommits(
    pluginConfig: { preset?: string; releaseRules?: unknown[]; parserOpts?: Record<string, unknown> },
    context: {
      commits: { hash: string; message: string }[];
      logger: { log: (...args: unknown[]) => void };
      cwd: string;
      lastRelease?: { version?: string; gitTag?: string };
    },
  ): Promise<'major' | 'minor' | 'patch' | null>;
}
