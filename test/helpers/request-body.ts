/** The whole body of a request to one of the fake services, as text. */
import type { IncomingMessage } from 'node:http';

export async function requestText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
