/**
 * The two content types GitHub can deliver (the hook's "Content type" setting):
 * `application/json`, the body is the payload; `application/x-www-form-urlencoded`, the payload
 * is the `payload` form field. Both are accepted: the signature covers the raw body either way,
 * so the choice is the repository owner's and changes nothing here.
 */
export const WebhookContentTypes = {
  json: 'application/json',
  form: 'application/x-www-form-urlencoded',
} as const;
export type WebhookContentType = (typeof WebhookContentTypes)[keyof typeof WebhookContentTypes];

/** The media type without parameters (`; charset=utf-8`), or null when it is neither of ours. */
export function webhookContentType(header: string | undefined): WebhookContentType | null {
  const media = (header ?? '').split(';')[0]!.trim().toLowerCase();
  if (media === WebhookContentTypes.json) return WebhookContentTypes.json;
  if (media === WebhookContentTypes.form) return WebhookContentTypes.form;
  return null;
}

export class PayloadNotJson extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadNotJson';
  }
}

/** The payload object of a verified body; PayloadNotJson when it is not a JSON object. */
export function parsePayload(body: Buffer, type: WebhookContentType): Record<string, unknown> {
  let text = body.toString('utf8');
  if (type === WebhookContentTypes.form) {
    const field = new URLSearchParams(text).get('payload');
    if (field === null) throw new PayloadNotJson('form body has no "payload" field');
    text = field;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new PayloadNotJson(`payload is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new PayloadNotJson('payload is JSON but not an object');
  }
  return parsed as Record<string, unknown>;
}
