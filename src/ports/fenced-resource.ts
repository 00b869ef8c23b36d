/**
 * A resource guarded by the lock's fencing tokens (staging). Every action under the lock passes
 * its token; a token older than the newest one seen is refused, so a holder whose lease ran out
 * or that was revoked cannot act over the next holder, even if it keeps running.
 */
export interface FencedAction {
  resource: string;
  token: number;
  /** What is done, e.g. `deploy v1.2.3`, `rollback`, `enter`. */
  action: string;
  /** Who does it (a workflow id). */
  actor: string;
}

export interface FencedResource {
  /** Record the action if `token` is at least the newest seen (it becomes the newest); else throw StaleFencingTokenError. */
  admit(action: FencedAction): Promise<{ newestToken: number }>;
  /** The newest token seen for `resource` (0 if none). */
  newestToken(resource: string): Promise<number>;
}

export class StaleFencingTokenError extends Error {
  constructor(
    readonly resource: string,
    readonly token: number,
    readonly newestToken: number,
  ) {
    super(`${resource}: fencing token ${token} is older than ${newestToken}; the lock has moved on`);
    this.name = 'StaleFencingTokenError';
  }
}
