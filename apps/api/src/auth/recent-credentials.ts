import { Injectable } from '@nestjs/common';
import { ttlCache } from '@pollarix/common';

/** How long a credential that authenticated stays known to this process without another look. */
export const RECENT_CREDENTIAL_TTL_MS = 10 * 60_000;
const MAX_ENTRIES = 10_000;

/**
 * Credentials (by credentialKey, never the secret) that authenticated in this API application lately.
 * The rate limiter fills it once a request that presented a credential had a principal (the API's guard
 * or the queue dashboard's middleware authenticated it), and reads it to tell, without a database read,
 * a credential it may charge alone from one it must first charge to the client address (a spray of
 * random tokens). A revoked token or an ended session is forgotten at once.
 */
@Injectable()
export class RecentCredentials {
  private readonly byKey = ttlCache<string, string>({ max: MAX_ENTRIES, ttlMs: RECENT_CREDENTIAL_TTL_MS });

  remember(key: string, tokenId: string): void {
    this.byKey.set(key, tokenId);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }

  /** Every credential of a revoked token: its bearer secret and the sessions opened with it. */
  forgetToken(tokenId: string): void {
    const keys = [...this.byKey.entries()].filter(([, id]) => id === tokenId).map(([key]) => key);
    for (const key of keys) this.byKey.delete(key);
  }
}
