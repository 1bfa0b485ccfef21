import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
// Bytes at or above this are skipped so that every character is equally likely.
const UNBIASED_LIMIT = 256 - (256 % ALPHABET.length);

/** Random identifier with a type prefix: wh_…, evt_…, dlv_…, tok_… (22 characters ≈ 129 bits). */
export function newId(prefix: string, length = 22): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < UNBIASED_LIMIT && out.length < length) out += ALPHABET[byte % ALPHABET.length];
    }
  }
  return `${prefix}_${out}`;
}
