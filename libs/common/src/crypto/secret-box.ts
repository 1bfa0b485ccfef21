import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/** Before key rotation: "v1.<iv>.<tag>.<ciphertext>", one key, no key id, no associated data. Still opened. */
const LEGACY = 'v1';
/** "v2.<key id>.<iv>.<tag>.<ciphertext>", sealed with associated data naming the value's row and column. */
const VERSION = 'v2';

/**
 * A key's id as ciphertexts carry it: derived from the key (an HMAC, so it tells nothing about the key),
 * so the operator lists keys without naming them, and two different keys can never share an id.
 */
export function secretKeyId(key: Buffer): string {
  return createHmac('sha256', key).update('pollarix-webhooks secret key id').digest().subarray(0, 6).toString('base64url');
}

/** Why a sealed value cannot be opened (its key left the ring, another row's value, tampered text). */
export class UnsealError extends Error {}

/**
 * AES-256-GCM for values at rest (webhook secrets, custom header values, idempotent responses), under a
 * key ring: the first key seals, every key opens. Each value is sealed with associated data, its
 * `context` (which row and column it belongs to: see sealContext in @pollarix/database), so a value
 * copied to another row or column does not open. Values sealed before key ids (v1) open with any listed
 * key and no context until the `secrets re-encrypt` command rewrites them.
 */
export class SecretBox {
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly newestId: string;

  /** `keys`: one key, or the ring newest first. */
  constructor(keys: Buffer | readonly Buffer[]) {
    const ring = Buffer.isBuffer(keys) ? [keys] : keys;
    if (ring.length === 0) throw new Error('SecretBox needs at least one key');
    if (ring.some((key) => key.length !== 32)) throw new Error('SecretBox needs 32-byte keys');
    this.keys = new Map(ring.map((key) => [secretKeyId(key), key]));
    if (this.keys.size !== ring.length) throw new Error('SecretBox keys must differ');
    this.newestId = secretKeyId(ring[0]);
  }

  /** The id of the key that seals. */
  get keyId(): string {
    return this.newestId;
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.newestId)!, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, this.newestId, ...[iv, cipher.getAuthTag(), body].map((part) => part.toString('base64url'))].join('.');
  }

  open(sealed: string, context: string): string {
    const parts = sealed.split('.');
    if (parts[0] === VERSION && parts.length === 5) {
      const [, id, iv, tag, body] = parts;
      const key = this.keys.get(id);
      if (!key) throw new UnsealError(`sealed under key ${id}, which the key ring no longer lists`);
      return decrypt(key, iv, tag, body, context);
    }
    if (parts[0] === LEGACY && parts.length === 4) {
      const [, iv, tag, body] = parts;
      for (const key of this.keys.values()) {
        try {
          return decrypt(key, iv, tag, body, null);
        } catch {
          // Another key of the ring may have sealed it.
        }
      }
      throw new UnsealError('sealed (without key id) under a key the key ring does not list');
    }
    throw new UnsealError('not a sealed value');
  }

  sealJson(value: unknown, context: string): string {
    return this.seal(JSON.stringify(value), context);
  }

  openJson<T>(sealed: string, context: string): T {
    return JSON.parse(this.open(sealed, context)) as T;
  }

  /** True when `sealed` is already under the newest key with its context (re-encrypting would change nothing). */
  isCurrent(sealed: string): boolean {
    const parts = sealed.split('.');
    return parts[0] === VERSION && parts.length === 5 && parts[1] === this.newestId;
  }

  /** The value sealed again under the newest key; throws UnsealError as `open` does. */
  reseal(sealed: string, context: string): string {
    return this.seal(this.open(sealed, context), context);
  }
}

function decrypt(key: Buffer, iv: string, tag: string, body: string, context: string | null): string {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: 16 });
    if (context !== null) decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new UnsealError(context === null ? 'does not open with its key' : 'does not open with its key and context (tampered, or another row’s or column’s value)');
  }
}
