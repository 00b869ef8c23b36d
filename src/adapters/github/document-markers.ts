/**
 * Idempotency markers for documents on GitHub (issues, comments, wiki pages): an HTML comment
 * holding a hash of the request's key, invisible when rendered and found again by a retry.
 * The key itself stays out: it names repository and version, which need not be public.
 */
import { createHash } from 'node:crypto';

export function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function documentMarker(key: string): string {
  return `<!-- release-flow:${keyHash(key)} -->`;
}

/** `HOT-3: title` -> `HOT-3`. */
export const INCIDENT_TITLE = /^([A-Z][A-Z0-9]*-\d+): /;
