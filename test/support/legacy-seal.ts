import { createCipheriv, randomBytes } from 'node:crypto';

/** A value as the code before key rotation sealed it: "v1.<iv>.<tag>.<ciphertext>", no key id, no associated data. */
export function legacySeal(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', ...[iv, cipher.getAuthTag(), body].map((part) => part.toString('base64url'))].join('.');
}
