/**
 * Errors a user can cause: coded, one line, with the fix. The CLI and `npm start` print these
 * without a stack trace; anything else is a bug and keeps its stack.
 */
export class UserError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly fix?: string,
  ) {
    super(message);
    this.name = 'UserError';
  }

  /** One line for a terminal: `release-flow: CODE: message (fix: ...)`. */
  render(): string {
    return `${this.code}: ${this.message}${this.fix ? ` (fix: ${this.fix})` : ''}`;
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}
