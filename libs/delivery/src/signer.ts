import { createHmac, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/** A new Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

// Standard Webhooks verifiers accept the key with or without the prefix, so we do too.
function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new Error('Webhook secret is empty or not base64');
  return key;
}

/**
 * The `webhook-signature` value: one `v1,<base64 HMAC-SHA256>` per secret, space-separated,
 * so receivers keep verifying with either secret during a rotation.
 */
export function signatureHeader(secrets: string[], msgId: string, timestampSeconds: number, body: string): string {
  // An unsigned request would look valid to nobody; refuse rather than send one.
  if (secrets.length === 0) throw new Error('At least one webhook secret is required to sign');
  const content = `${msgId}.${timestampSeconds}.${body}`;
  return secrets.map((secret) => `v1,${createHmac('sha256', secretKey(secret)).update(content, 'utf8').digest('base64')}`).join(' ');
}

/** The three Standard Webhooks headers for one attempt (the timestamp is this attempt's). */
export function signingHeaders(secrets: string[], msgId: string, body: string, now: Date = new Date()): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureHeader(secrets, msgId, timestamp, body),
  };
}
