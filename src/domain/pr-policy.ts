/**
 * The pull-request gate (docs/pipelines-and-decisions.md "Release rules"): branch
 * `uid/TICKET-ID`, every commit `type(TICKET-ID): subject`, rebased on the base with no merge
 * commits. Every violation is reported with its commit and rule, not just the first.
 */
import { CommitPresets, type CommitPreset, type RawCommit } from './commit-analysis';

/** The rules a pull request can break; the names appear in statuses and `--json` output. */
export const PrRules = {
  /** The branch is not named `uid/TICKET-ID`. */
  branchName: 'branch-name',
  /** A commit header is not `type(scope): subject`. */
  commitHeader: 'commit-header',
  /** A commit's type is not one of the allowed types. */
  commitType: 'commit-type',
  /** A commit's scope is not the branch's ticket id. */
  commitScope: 'commit-scope',
  /** The base's head is not an ancestor of the branch's head. */
  rebased: 'rebased',
  /** The branch adds a merge commit. */
  mergeCommit: 'merge-commit',
  /** The branch has no commit the base lacks. */
  noCommits: 'no-commits',
  /** The branch's ticket does not exist in the tracker, or is done (Jira, when configured). */
  ticket: 'ticket',
  /** A hotfix branch does not merge cleanly into the base (or its mergeability is not known yet). */
  mergeConflict: 'merge-conflict',
} as const;
export type PrRule = (typeof PrRules)[keyof typeof PrRules];

/** Ticket ids like `JIRA-1234` (seed: `nyefan/JIRA-1234`). */
export const DEFAULT_TICKET_PATTERN = '[A-Z][A-Z0-9]+-\\d+';

/** Angular's types (its CONTRIBUTING guide) plus `chore` and `revert`, which semantic-release's docs use. */
export const DEFAULT_ALLOWED_TYPES: readonly string[] = [
  'build',
  'chore',
  'ci',
  'docs',
  'feat',
  'fix',
  'perf',
  'refactor',
  'revert',
  'style',
  'test',
];

export interface PrPolicyOptions {
  /** A regular expression (source, unanchored) for ticket ids. */
  ticketPattern: string;
  allowedTypes: readonly string[];
  /** Under `angular` a `!` after the type is refused: the preset would silently ignore the commit. */
  preset: CommitPreset;
}

export const defaultPrPolicyOptions: PrPolicyOptions = {
  ticketPattern: DEFAULT_TICKET_PATTERN,
  allowedTypes: DEFAULT_ALLOWED_TYPES,
  preset: CommitPresets.angular,
};

export interface PullRequestFacts {
  /** The branch's short name (`nyefan/JIRA-1234`). */
  branch: string;
  base: string;
  /** Commits on the branch and not on the base, newest first. */
  commits: readonly RawCommit[];
  /** True when the base's head is an ancestor of (or equal to) the branch's head. */
  baseIsAncestor: boolean;
  /**
   * For a hotfix branch: does it merge into the base without conflicts (null: not known yet, as
   * GitHub answers while it computes it). A hotfix branch is cut from a release tag, so it is
   * held to a clean merge instead of the rebase rule.
   */
  mergesCleanly?: boolean | null;
}

export interface PrViolation {
  rule: PrRule;
  /** The commit at fault, for commit rules. */
  sha?: string;
  header?: string;
  /** One line saying what is wrong and what is expected. */
  message: string;
}

export interface PrVerdict {
  ok: boolean;
  /** The ticket id taken from the branch name, or null when the name has none. */
  ticket: string | null;
  violations: PrViolation[];
}

/** Hotfix branches (`HOT-<n>`), made by an emergency off the deployed version's tag. */
export const HOTFIX_BRANCH = /^HOT-[1-9]\d*$/;

export function branchPattern(ticketPattern: string): RegExp {
  return new RegExp(`^([A-Za-z0-9][A-Za-z0-9._-]*)/(${ticketPattern})$`);
}

// type, optional (scope), optional !, then ": " and a subject that is not blank.
const HEADER = /^(\w+)(?:\(([^()\r\n]*)\))?(!)?: (\S.*)$/;

function headerOf(message: string): string {
  const end = message.search(/\r?\n/);
  return (end === -1 ? message : message.slice(0, end)).trimEnd();
}

function commitViolations(commit: RawCommit, ticket: string | null, options: PrPolicyOptions): PrViolation[] {
  const header = headerOf(commit.message);
  const at = { sha: commit.sha, header };
  const expected = `\`type(${ticket ?? 'TICKET-ID'}): subject\``;
  if ((commit.parents?.length ?? 0) > 1) {
    return [
      {
        rule: PrRules.mergeCommit,
        ...at,
        message: 'merge commit on the branch: rebase onto the base instead',
      },
    ];
  }
  const match = HEADER.exec(header);
  if (!match) {
    return [{ rule: PrRules.commitHeader, ...at, message: `header is not ${expected}` }];
  }
  const [, type = '', scope, bang] = match;
  const found: PrViolation[] = [];
  if (bang && options.preset === CommitPresets.angular) {
    found.push({
      rule: PrRules.commitHeader,
      ...at,
      message: '`!` after the type is ignored by the angular preset: use a `BREAKING CHANGE:` footer',
    });
  }
  if (!options.allowedTypes.includes(type)) {
    found.push({
      rule: PrRules.commitType,
      ...at,
      message: `type \`${type}\` is not one of ${options.allowedTypes.join(', ')}`,
    });
  }
  if (ticket === null) {
    if (scope === undefined || !new RegExp(`^(?:${options.ticketPattern})$`).test(scope)) {
      found.push({
        rule: PrRules.commitScope,
        ...at,
        message: `scope must be a ticket id like the branch's`,
      });
    }
  } else if (scope !== ticket) {
    found.push({
      rule: PrRules.commitScope,
      ...at,
      message:
        scope === undefined
          ? `no scope: expected (${ticket})`
          : `scope \`${scope}\` is not the ticket ${ticket}`,
    });
  }
  return found;
}

/** Every way the pull request breaks the policy; `ok` when there is none. */
export function checkPullRequest(
  facts: PullRequestFacts,
  options: PrPolicyOptions = defaultPrPolicyOptions,
): PrVerdict {
  const violations: PrViolation[] = [];
  // A hotfix branch is named for its incident alone (`HOT-3`), and its commits are scoped `HOT-3`.
  const hotfix = HOTFIX_BRANCH.test(facts.branch) ? facts.branch : null;
  const name = hotfix ? null : branchPattern(options.ticketPattern).exec(facts.branch);
  const ticket = hotfix ?? name?.[2] ?? null;
  if (!name && !hotfix) {
    violations.push({
      rule: PrRules.branchName,
      message: `branch \`${facts.branch}\` is not named uid/TICKET-ID (for example nyefan/JIRA-1234)`,
    });
  }
  if (hotfix) {
    // Its commits are the tagged hotfix: rebasing them would make commits no release was built from.
    if (!facts.baseIsAncestor && facts.mergesCleanly !== true) {
      violations.push({
        rule: PrRules.mergeConflict,
        message:
          facts.mergesCleanly === false
            ? `${hotfix} does not merge cleanly into ${facts.base}: merge ${facts.base} into a branch off ${hotfix}, resolve, and open that instead`
            : `whether ${hotfix} merges cleanly into ${facts.base} is not known yet: push again or re-run the check`,
      });
    }
  } else if (!facts.baseIsAncestor) {
    violations.push({
      rule: PrRules.rebased,
      message: `branch is not rebased on the current ${facts.base}: run git rebase ${facts.base}`,
    });
  }
  if (facts.commits.length === 0) {
    violations.push({ rule: PrRules.noCommits, message: `branch has no commit that ${facts.base} lacks` });
  }
  // Oldest first reads like the branch's story and like `git rebase -i`.
  for (const commit of [...facts.commits].reverse())
    violations.push(...commitViolations(commit, ticket, options));
  return { ok: violations.length === 0, ticket, violations };
}

/** GitHub limits a commit status description to 140 characters. */
export const STATUS_DESCRIPTION_LIMIT = 140;

/** A status description on one line, cut with "..." to GitHub's limit (it refuses longer with a 422). */
export function fitStatusDescription(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > STATUS_DESCRIPTION_LIMIT ? `${line.slice(0, STATUS_DESCRIPTION_LIMIT - 3)}...` : line;
}

/** One line for the commit status: the first violation with its commit, and how many more. */
export function statusDescription(verdict: PrVerdict): string {
  const [first, ...rest] = verdict.violations;
  if (!first) {
    return verdict.ticket && HOTFIX_BRANCH.test(verdict.ticket)
      ? `policy OK: hotfix ${verdict.ticket}, commit headers and a clean merge`
      : 'policy OK: branch name, commit headers and rebase';
  }
  const where = first.sha ? `${first.sha.slice(0, 7)}: ` : '';
  const more = rest.length ? ` (+${rest.length} more)` : '';
  const text = `${first.rule}: ${where}${first.message}`;
  const room = STATUS_DESCRIPTION_LIMIT - more.length;
  return (text.length > room ? `${text.slice(0, room - 3)}...` : text) + more;
}
