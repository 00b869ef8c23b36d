/**
 * Reads a request body as raw bytes, refusing more than a limit. The signature is computed
 * over these exact bytes, so nothing here decodes or parses.
 */
import type http from 'node:http';

/** GitHub caps webhook payloads at 25 MB; a larger body cannot be a GitHub delivery. */
export const DEFAULT_BODY_LIMIT_BYTES = 25 * 1024 * 1024;

export class BodyTooLarge extends Error {
  constructor(readonly limitBytes: number) {
    super(`request body is larger than the limit of ${limitBytes} bytes`);
    this.name = 'BodyTooLarge';
  }
}

/** The receiver is at its cap of unverified bodies in flight: answered 503 with Retry-After. */
export class BodyBudgetExceeded extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('too many unverified webhook bodies are being received at once');
    this.name = 'BodyBudgetExceeded';
  }
}

/** Bodies larger than this count as large: they may not take the share kept for ordinary deliveries. */
export const LARGE_BODY_BYTES = 1024 * 1024;

export interface BodyBudgetOptions {
  /** Bodies read at once before their signatures are checked (default 64). */
  maxBodies?: number;
  /** Bytes of such bodies held at once (default 64 MiB). */
  maxBytes?: number;
  /** Of `maxBytes`, what large bodies may never take, so ordinary deliveries still get in (default 16 MiB). */
  reservedForSmallBytes?: number;
  retryAfterSeconds?: number;
}

/**
 * What unauthenticated bodies may hold together: a count and bytes, not per connection, so a
 * crowd of slow or oversized bad-signature requests cannot take the process's memory while the
 * honest deliveries queue behind them.
 */
export class BodyBudget {
  readonly maxBodies: number;
  readonly maxBytes: number;
  readonly reservedForSmallBytes: number;
  readonly retryAfterSeconds: number;
  private bodies = 0;
  private bytes = 0;

  constructor(opts: BodyBudgetOptions = {}) {
    this.maxBodies = opts.maxBodies ?? 64;
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.reservedForSmallBytes = Math.min(opts.reservedForSmallBytes ?? 16 * 1024 * 1024, this.maxBytes);
    this.retryAfterSeconds = opts.retryAfterSeconds ?? 5;
  }

  get inFlight(): { bodies: number; bytes: number } {
    return { bodies: this.bodies, bytes: this.bytes };
  }

  /** A place for one body, or null when every place is taken. */
  open(): BodyLease | null {
    if (this.bodies >= this.maxBodies) return null;
    this.bodies++;
    let held = 0;
    let closed = false;
    return {
      take: (n, total) => {
        const cap = total > LARGE_BODY_BYTES ? this.maxBytes - this.reservedForSmallBytes : this.maxBytes;
        if (this.bytes + n > cap) return false;
        this.bytes += n;
        held += n;
        return true;
      },
      close: () => {
        if (closed) return;
        closed = true;
        this.bodies--;
        this.bytes -= held;
      },
    };
  }
}

export interface BodyLease {
  /** Counts `n` more bytes of a body now `total` long; false when the budget cannot hold them. */
  take(n: number, total: number): boolean;
  close(): void;
}

/**
 * The whole body, or BodyTooLarge as soon as the declared length or the bytes received pass
 * `limitBytes` (the rest is not buffered).
 */
export async function readRawBody(
  req: http.IncomingMessage,
  limitBytes: number,
  budget?: BodyBudget,
): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) throw new BodyTooLarge(limitBytes);
  const lease = budget?.open();
  if (budget && !lease) throw new BodyBudgetExceeded(budget.retryAfterSeconds);
  try {
    // A declared length is claimed whole at once: a body that cannot fit is refused before it is read.
    const claimed = Number.isFinite(declared) && declared > 0 ? declared : 0;
    if (lease && claimed && !lease.take(claimed, claimed))
      throw new BodyBudgetExceeded(budget!.retryAfterSeconds);
    const chunks: Buffer[] = [];
    let received = 0;
    for await (const chunk of req) {
      const buf = chunk as Buffer;
      received += buf.length;
      if (received > limitBytes) throw new BodyTooLarge(limitBytes);
      if (lease && received > claimed && !lease.take(buf.length, received))
        throw new BodyBudgetExceeded(budget!.retryAfterSeconds);
      chunks.push(buf);
    }
    return Buffer.concat(chunks, received);
  } finally {
    lease?.close();
  }
}
