/**
 * APM query templates: `{repository}`, `{environment}`, `{version}`, `{service}` and
 * `{interval}` are replaced by the release's values, each escaped for where it lands, so a
 * repository name can never change the query's meaning (docs/integrations.md "Integrations").
 */

export interface QueryValues {
  repository: string;
  environment: string;
  /** The version running in the environment, or empty when none is known. */
  version: string;
  service: string;
  /** The sample interval as the APM writes a duration (`60s`). */
  interval: string;
}

export const QUERY_PLACEHOLDERS = ['repository', 'environment', 'version', 'service', 'interval'] as const;

/**
 * A PromQL label matcher value is a double-quoted string: backslash, double quote and line
 * breaks are escaped. Inside `=~`/`!~` the value is also a regular expression, so its
 * metacharacters are escaped too and a name matches only itself.
 */
export function escapePromqlString(value: string, regex: boolean): string {
  const literal = regex ? value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : value;
  return literal.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** Datadog tag values: characters outside its tag grammar become `_`, as Datadog normalizes them. */
export function escapeDatadogTag(value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9_.:/-]/g, '_');
}

/** Placeholders the template names that are not known ones (a typo such as `{env}`). */
export function unknownPlaceholders(template: string): string[] {
  const names = [...template.matchAll(/\{([a-z]+)\}/g)].map((m) => m[1] ?? '');
  return names.filter((n) => !(QUERY_PLACEHOLDERS as readonly string[]).includes(n));
}

/** Fills a PromQL template; a placeholder right after `=~` or `!~"` is escaped as a regex. */
export function fillPromql(template: string, values: QueryValues): string {
  return template.replace(/\{([a-z]+)\}/g, (whole, name: string, offset: number) => {
    if (!(QUERY_PLACEHOLDERS as readonly string[]).includes(name)) return whole;
    const value = values[name as keyof QueryValues];
    if (name === 'interval') return value;
    const before = template.slice(0, offset);
    const regex = /[=!]~\s*"[^"]*$/.test(before);
    return escapePromqlString(value, regex);
  });
}

export function fillDatadog(template: string, values: QueryValues): string {
  return template.replace(/\{([a-z]+)\}/g, (whole, name: string) => {
    if (!(QUERY_PLACEHOLDERS as readonly string[]).includes(name)) return whole;
    const value = values[name as keyof QueryValues];
    return name === 'interval' ? value : escapeDatadogTag(value);
  });
}

/** `60s` for a 60 000 ms interval: whole seconds, at least one. */
export function intervalText(ms: number): string {
  return `${Math.max(1, Math.round(ms / 1000))}s`;
}
