import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_PREFIX = 'plx_';
const TOKEN_PATTERN = /^plx_[A-Za-z0-9_-]{43}$/;

/** A new API token secret: `plx_` + 32 random bytes, base64url. */
export function generateTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** Only this hash is stored. SHA-256 suffices: the secret has 256 bits of entropy, nothing to brute-force. */
export function hashTokenSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Cheap shape check that spares a database round trip for garbage credentials. */
export function looksLikeTokenSecret(value: string): boolean {
  return TOKEN_PATTERN.test(value);
}
