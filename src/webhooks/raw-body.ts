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

/**
 * The whole body, or BodyTooLarge as soon as the declared length or the bytes received pass
 * `limitBytes` (the rest is not buffered).
 */
export async function readRawBody(req: http.IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) throw new BodyTooLarge(limitBytes);
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    received += buf.length;
    if (received > limitBytes) throw new BodyTooLarge(limitBytes);
    chunks.push(buf);
  }
  return Buffer.concat(chunks, received);
}
