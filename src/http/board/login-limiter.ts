/**
 * Failed board logins are limited per client address and per name, so neither guessing many
 * tokens from one place nor one person's token from many places gets far.
 */

export interface LoginLimiterOptions {
  /** Failures allowed within `windowMs` before further attempts are refused (default 5). */
  maxFailures?: number;
  /** Default 15 minutes. */
  windowMs?: number;
  now?: () => number;
}

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(opts: LoginLimiterOptions = {}) {
    this.maxFailures = opts.maxFailures ?? 5;
    this.windowMs = opts.windowMs ?? 15 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** Seconds until `keys` may try again, or 0 when they may now. */
  retryAfter(keys: readonly string[]): number {
    const now = this.now();
    let wait = 0;
    for (const key of keys) {
      const recent = this.recent(key, now);
      if (recent.length >= this.maxFailures) {
        const oldest = recent[recent.length - this.maxFailures]!;
        wait = Math.max(wait, Math.ceil((oldest + this.windowMs - now) / 1000));
      }
    }
    return wait;
  }

  fail(keys: readonly string[]): void {
    const now = this.now();
    for (const key of keys) this.failures.set(key, [...this.recent(key, now), now]);
    // Bounded memory: a flood of distinct names must not grow the map forever.
    if (this.failures.size > 10_000) {
      for (const [key] of this.failures) {
        if (!this.recent(key, now).length) this.failures.delete(key);
      }
    }
  }

  succeed(keys: readonly string[]): void {
    for (const key of keys) this.failures.delete(key);
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((t) => t > now - this.windowMs);
  }
}
