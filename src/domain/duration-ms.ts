/**
 * A duration setting ('15 minutes', '30s' or a number of milliseconds) as milliseconds, read with
 * the same parser the Temporal SDK uses for its own durations, so a setting means here what it
 * means to a timer. Safe in workflow code: a pure function.
 */
import ms from 'ms';

/** What `Duration` from `@temporalio/common` accepts. */
export type DurationSetting = string | number;

export function durationToMs(value: DurationSetting): number {
  if (typeof value === 'number') return value;
  const millis: number | undefined = ms(value);
  if (millis == null || Number.isNaN(millis)) throw new TypeError(`Invalid duration string: '${value}'`);
  return millis;
}
