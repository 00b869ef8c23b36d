/**
 * Which tags are releases, which version each names, and which one is the last.
 * Tags that don't match the release pattern are ignored everywhere (docs/pipelines-and-decisions.md "Release rules").
 */
import semver from 'semver';

/**
 * The seed's `^v\d+\.\d+\.\d+$` narrowed to semver's own core: no leading zeros, so `v01.1.2`
 * is not a second name for `v1.1.2` (one commit released twice, a rollback to the same artifact).
 */
export const DEFAULT_RELEASE_TAG_PATTERN = '^v(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)$';

/**
 * Tags no release rule may accept: each names no semantic version (leading zeros, too few or
 * too many parts). A custom pattern that matches one is a configuration error.
 */
export const NOT_SEMVER_TAGS: readonly string[] = [
  '01.0.0',
  '1.01.0',
  '1.0.01',
  '00.0.0',
  '1.0',
  '1',
  '1.0.0.0',
  '1.0.0.01',
].flatMap((v) => ['v', '', 'release-', 'release/', 'V'].map((prefix) => `${prefix}${v}`));

/** How a version becomes a tag name; `{version}` is replaced by `1.2.3`. */
export const DEFAULT_RELEASE_TAG_FORMAT = 'v{version}';

export interface ReleaseTagRule {
  /** A regular expression (source text) a tag name must match to be a release. */
  pattern: string;
  /** The tag name of a version, with `{version}` standing for it. */
  format: string;
}

export const defaultReleaseTagRule: ReleaseTagRule = {
  pattern: DEFAULT_RELEASE_TAG_PATTERN,
  format: DEFAULT_RELEASE_TAG_FORMAT,
};

export interface ReleaseTag {
  name: string;
  /** The semantic version the tag names, without prefix (`1.2.3`). */
  version: string;
}

/** Problems of a pattern that accepts tags naming no semantic version (config validation). */
export function patternAdmitsNonSemver(pattern: string, regex: RegExp = new RegExp(pattern)): string[] {
  const admitted = NOT_SEMVER_TAGS.filter((tag) => regex.test(tag));
  return admitted.length
    ? [
        `tag pattern ${JSON.stringify(pattern)} accepts ${admitted
          .slice(0, 3)
          .map((t) => JSON.stringify(t))
          .join(', ')}, ` +
          `which name no semantic version (leading zeros or wrong number of parts); use numbers as (0|[1-9]\\d*), ` +
          `e.g. ${JSON.stringify(DEFAULT_RELEASE_TAG_PATTERN)}`,
      ]
    : [];
}

/** The problems with a rule, empty when it is usable; callers turn them into user errors. */
export function releaseTagRuleProblems(rule: ReleaseTagRule): string[] {
  const problems: string[] = [];
  let regex: RegExp | undefined;
  try {
    regex = new RegExp(rule.pattern);
  } catch (err) {
    problems.push(`tag pattern ${JSON.stringify(rule.pattern)} is not a regular expression (${String(err)})`);
  }
  if (!rule.format.includes('{version}')) {
    problems.push(`tag format ${JSON.stringify(rule.format)} has no {version} placeholder`);
  } else if (regex && !regex.test(formatReleaseTag('1.0.0', rule))) {
    // A format whose tags the pattern rejects would tag releases that the next run cannot find.
    problems.push(
      `tag format ${JSON.stringify(rule.format)} makes ${JSON.stringify(formatReleaseTag('1.0.0', rule))}, ` +
        `which the pattern ${JSON.stringify(rule.pattern)} does not match`,
    );
  }
  return problems;
}

// A version inside a tag name: the first x.y.z with optional pre-release and build parts.
const versionInTag = /\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?/;

/** The release a tag names, or null when the tag is not a release under `rule`. */
export function parseReleaseTag(
  name: string,
  rule: ReleaseTagRule = defaultReleaseTagRule,
): ReleaseTag | null {
  if (!new RegExp(rule.pattern).test(name)) return null;
  const found = versionInTag.exec(name);
  const version = found ? semver.valid(found[0]) : null;
  return version ? { name, version } : null;
}

export function isReleaseTag(name: string, rule: ReleaseTagRule = defaultReleaseTagRule): boolean {
  return parseReleaseTag(name, rule) !== null;
}

/**
 * The release tags among `names`, highest version first. Ordering is semver's, never the
 * tag names' (v1.10.0 is after v1.9.0); equal versions fall back to the name for stability.
 */
export function sortReleaseTags(
  names: readonly string[],
  rule: ReleaseTagRule = defaultReleaseTagRule,
): ReleaseTag[] {
  const pattern = new RegExp(rule.pattern);
  const tags: ReleaseTag[] = [];
  for (const name of names) {
    if (!pattern.test(name)) continue;
    const tag = parseReleaseTag(name, rule);
    if (tag) tags.push(tag);
  }
  return tags.sort(
    (a, b) => semver.rcompare(a.version, b.version) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

/** The highest release among `names`, or null when none is a release. */
export function latestReleaseTag(
  names: readonly string[],
  rule: ReleaseTagRule = defaultReleaseTagRule,
): ReleaseTag | null {
  return sortReleaseTags(names, rule)[0] ?? null;
}

export function formatReleaseTag(version: string, rule: ReleaseTagRule = defaultReleaseTagRule): string {
  return rule.format.split('{version}').join(version);
}
