/**
 * `release-flow next-version`: the tag the main-commit pipeline would create for a local
 * repository, the bump, and what every commit since the last release did to it (docs/pipelines-and-decisions.md "Release
 * rules").
 */
import type { Command } from 'commander';
import {
  CommitPresets,
  isCommitPreset,
  type CommitEffect,
  type CommitPreset,
} from '../domain/commit-analysis';
import {
  DEFAULT_RELEASE_TAG_FORMAT,
  DEFAULT_RELEASE_TAG_PATTERN,
  releaseTagRuleProblems,
  type ReleaseTagRule,
} from '../domain/release-tags';
import { UserError } from '../common/errors';
import type { CliContext } from './context';
import { openCompleteRepository } from './repository-checks';
import { loadCommitParser } from '../adapters/conventional-commits/commit-parser';
import { nextVersionOf, type NextVersionReport } from '../release/next-version-of';

export { nextVersionOf, type NextVersionReport };

interface NextVersionOptions {
  repo: string;
  ref: string;
  json?: boolean;
  preset: string;
  tagPattern: string;
  tagFormat: string;
}

export function presetOption(value: string): CommitPreset {
  if (!isCommitPreset(value)) {
    throw new UserError(
      'INVALID_OPTION',
      `unknown preset ${JSON.stringify(value)}`,
      `use --preset ${Object.values(CommitPresets).join(' or --preset ')}`,
    );
  }
  return value;
}

function tagRuleOption(pattern: string, format: string): ReleaseTagRule {
  const rule = { pattern, format };
  const [problem] = releaseTagRuleProblems(rule);
  if (problem) throw new UserError('INVALID_OPTION', problem, 'fix --tag-pattern / --tag-format');
  return rule;
}

function commitLine(c: CommitEffect): string {
  const why = c.effect === 'none' ? ` (${c.reason})` : '';
  return `  ${c.effect.padEnd(5)} ${c.sha.slice(0, 7)} ${c.header}${why}`;
}

function renderText(report: NextVersionReport): string[] {
  const since = report.lastTag ? `since ${report.lastTag}` : 'in the whole history (no release tag yet)';
  const count = `${report.commits.length} commit${report.commits.length === 1 ? '' : 's'} ${since}`;
  const lines = report.next
    ? [
        `${report.next} (${report.bump}; ${report.lastTag ? `last release ${report.lastTag}` : 'first release'}; ${count})`,
      ]
    : [`no release (${count}, none releasable)`];
  const releasing = report.commits.filter((c) => c.effect !== 'none');
  const ignored = report.commits.filter((c) => c.effect === 'none');
  if (releasing.length) lines.push('releasing commits:', ...releasing.map(commitLine));
  if (ignored.length) lines.push('ignored commits:', ...ignored.map(commitLine));
  if (report.warnings.length) {
    lines.push(
      'warnings:',
      ...report.warnings.map((w) => `  ${w.sha.slice(0, 7)} ${w.header}: ${w.warning}`),
    );
  }
  return lines;
}

export function registerNextVersionCommand(program: Command, ctx: CliContext): void {
  program
    .command('next-version')
    .description(
      'compute the next release tag of a local repository from its commits since the last release tag',
    )
    .option('--repo <dir>', 'the repository', '.')
    .option('--ref <ref>', 'the commit to release (branch, tag or sha)', 'HEAD')
    .option('--preset <name>', 'commit convention: angular or conventionalcommits', CommitPresets.angular)
    .option(
      '--tag-pattern <regex>',
      'release tags match this; others are ignored',
      DEFAULT_RELEASE_TAG_PATTERN,
    )
    .option(
      '--tag-format <format>',
      'the tag name of a version; {version} stands for it',
      DEFAULT_RELEASE_TAG_FORMAT,
    )
    .option('--json', 'print one JSON object')
    .action(async (opts: NextVersionOptions) => {
      const preset = presetOption(opts.preset);
      const tagRule = tagRuleOption(opts.tagPattern, opts.tagFormat);
      const git = await openCompleteRepository(opts.repo);
      const report = await nextVersionOf(git, opts.ref, preset, tagRule, loadCommitParser);
      if (opts.json) ctx.out(JSON.stringify(report, null, 2));
      else for (const line of renderText(report)) ctx.out(line);
    });
}
