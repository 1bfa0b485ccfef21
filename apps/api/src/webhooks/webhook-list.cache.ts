import { Injectable } from '@nestjs/common';
import { InvalidationClock, ttlCache } from '@pollarix/common';
import { Webhook } from '@pollarix/database';
import { WEBHOOK_CACHE_TTL_MS, WebhookChanges } from '@pollarix/redis';

const MAX_DEPARTMENTS = 5_000;

/**
 * The decrypted webhook list of recently read departments, so that the hot GET costs no PostgreSQL
 * round trip. Every write evicts its department here and, through WebhookChanges, in every other
 * process; the invalidation clock keeps a read that raced a write from caching the old list.
 */
@Injectable()
export class WebhookListCache {
  private readonly entries = ttlCache<string, Webhook[]>({ max: MAX_DEPARTMENTS, ttlMs: WEBHOOK_CACHE_TTL_MS });
  private readonly clock = new InvalidationClock<string>(MAX_DEPARTMENTS * 2);

  constructor(private readonly changes: WebhookChanges) {
    changes.listen({
      onChange: (departmentId) => {
        this.entries.delete(departmentId);
        this.clock.invalidate(departmentId);
      },
      onStale: () => {
        this.entries.clear();
        this.clock.invalidateAll();
      },
    });
  }

  async list(departmentId: string, load: () => Promise<Webhook[]>): Promise<Webhook[]> {
    const cached = this.entries.get(departmentId);
    if (cached !== undefined) return cached;
    const since = this.clock.start();
    const webhooks = await load();
    if (this.clock.fresh(departmentId, since)) this.entries.set(departmentId, webhooks);
    return webhooks;
  }

  /** After a write: evict here at once, and in every other process through Redis. */
  changed(departmentId: string): Promise<void> {
    return this.changes.changed(departmentId);
  }
}
