/**
 * SECRETS_ENCRYPTION_KEY: one 32-byte key, or a key ring of several, comma-separated, newest first (the
 * newest seals, every one opens: see SecretBox). Each key is 64 hex characters or 44 base64 characters.
 */
const KEY = /^([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$/;

/** The keys newest first, or undefined when the text is not a list of distinct keys. */
export function parseKeyRing(text: string): Buffer[] | undefined {
  const items = text.split(',').map((item) => item.trim());
  if (!items.every((item) => KEY.test(item))) return undefined;
  const keys = items.map((item) => (item.length === 64 ? Buffer.from(item, 'hex') : Buffer.from(item, 'base64')));
  const distinct = new Set(keys.map((key) => key.toString('hex')));
  return distinct.size === keys.length ? keys : undefined;
}
