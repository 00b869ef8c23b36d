/**
 * Verifies `X-Hub-Signature-256` over the raw body with `@octokit/webhooks-methods` (HMAC-SHA256,
 * constant-time comparison), before anything reads the payload (octokit's order).
 *
 * - Only sha256 is accepted: a delivery signed with the legacy sha1 header alone is refused
 *   with a reason naming the header we need.
 * - The hex digest is compared case-insensitively (it is the same MAC; GitHub sends lowercase).
 * - The body is hashed as UTF-8 text, as the library does; a body that is not valid UTF-8
 *   cannot verify, which is a refusal and never an acceptance.
 */
import type http from 'node:http';

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

const SHA256_HEADER = /^sha256=([0-9a-f]{64})$/i;

type WebhooksMethods = typeof import('@octokit/webhooks-methods');
let methods: Promise<WebhooksMethods> | undefined;
/** The package is ESM-only; this CommonJS code loads it once with a dynamic import. */
function loadMethods(): Promise<WebhooksMethods> {
  methods ??= import('@octokit/webhooks-methods');
  return methods;
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export async function checkSignature(
  req: http.IncomingMessage,
  body: Buffer,
  secret: string,
): Promise<SignatureCheck> {
  const given = header(req, 'x-hub-signature-256');
  if (!given) {
    return {
      ok: false,
      reason: header(req, 'x-hub-signature')
        ? 'only an X-Hub-Signature (sha1) header: release-flow verifies X-Hub-Signature-256 (sha256); GitHub sends both, check any proxy in between'
        : 'missing X-Hub-Signature-256 header: set the webhook secret on GitHub to the value of GITHUB_WEBHOOK_SECRET',
    };
  }
  const match = SHA256_HEADER.exec(given.trim());
  if (!match) return { ok: false, reason: 'X-Hub-Signature-256 is not "sha256=" followed by 64 hex digits' };
  if (body.length === 0) return { ok: false, reason: 'empty body: nothing to verify' };
  const { verify } = await loadMethods();
  const valid = await verify(secret, body.toString('utf8'), `sha256=${match[1]!.toLowerCase()}`);
  return valid
    ? { ok: true }
    : {
        ok: false,
        reason: 'X-Hub-Signature-256 does not match the body: the secrets on GitHub and here differ',
      };
}

/** `sha256=<hex>` of a body, as GitHub computes it (tests, bench and the demo sign with this). */
export async function signBody(secret: string, body: string): Promise<string> {
  const { sign } = await loadMethods();
  return await sign(secret, body);
}
