import { Inject, Injectable, Optional } from '@nestjs/common';
import { InvalidationClock, MicroBatcher, TtlCache, ttlCache } from '@pollarix/common';
import { Database, WebhookTargetLoad } from '@pollarix/database';
import { WEBHOOK_CACHE_TTL_MS, WebhookChanges } from '@pollarix/redis';
import { WorkerMetrics } from '../ops/worker-metrics';

const MAX_TARGETS = 10_000;
const MAX_LOAD_BATCH = 500;

/**
 * What an attempt sends with, as cached: the webhook opened (URL, headers in clear, secrets; which of
 * them sign is decided at use time with `deliveryTargetAt(cached.target, now)` from @pollarix/database),
 * whether it is active, when it was last written, or the error that its sealed columns gave.
 */
export type CachedTarget = WebhookTargetLoad;

export interface WebhookTargetsOptions {
  /** Entry lifetime, WEBHOOK_CACHE_TTL_MS by default (tests make it short). */
  ttlMs?: number;
}

export const WEBHOOK_TARGETS_OPTIONS = Symbol('WEBHOOK_TARGETS_OPTIONS');

interface Entry {
  /** null: the webhook is deleted (ids are never reused, so only a reconnect or the TTL drops it). */
  target: CachedTarget | null;
}

/**
 * The worker's webhooks as attempts send with them, so that an attempt reads nothing it can hold.
 * Misses are read together, one query per batch (concurrent misses of one webhook share one read);
 * a write announced through WebhookChanges drops its department's entries, a reconnect drops all, and
 * the TTL bounds what a missed announcement leaves. A read that raced an announcement is returned to its
 * callers but not kept.
 */
@Injectable()
export class WebhookTargets {
  private readonly entries: TtlCache<string, Entry>;
  private readonly clock = new InvalidationClock<string>(MAX_TARGETS);
  private readonly pending = new Map<string, Promise<CachedTarget | null>>();
  private readonly loader: MicroBatcher<string, CachedTarget | null>;

  constructor(
    private readonly db: Database,
    changes: WebhookChanges,
    private readonly metrics: WorkerMetrics,
    @Optional() @Inject(WEBHOOK_TARGETS_OPTIONS) options: WebhookTargetsOptions | null = null,
  ) {
    this.entries = ttlCache<string, Entry>({ max: MAX_TARGETS, ttlMs: options?.ttlMs ?? WEBHOOK_CACHE_TTL_MS });
    this.loader = new MicroBatcher(
      async (ids) => {
        const loads = await this.db.repos.webhooks.findTargets(ids);
        this.metrics.webhookLoads.inc(ids.length);
        return ids.map((id) => loads.get(id) ?? null);
      },
      { maxBatch: MAX_LOAD_BATCH, maxInFlight: 1 },
    );
    changes.listen({ onChange: (departmentId) => this.departmentChanged(departmentId), onStale: () => this.clear() });
  }

  /** Each webhook as it is to be sent with now, or null when it no longer exists; one query for all misses. */
  async get(webhookIds: string[]): Promise<Map<string, CachedTarget | null>> {
    const found = new Map<string, CachedTarget | null>();
    const loads: Promise<void>[] = [];
    for (const id of new Set(webhookIds)) {
      const entry = this.entries.get(id);
      if (entry !== undefined) found.set(id, entry.target);
      else loads.push(this.load(id).then((target) => void found.set(id, target)));
    }
    await Promise.all(loads);
    return found;
  }

  private load(id: string): Promise<CachedTarget | null> {
    const pending = this.pending.get(id);
    if (pending !== undefined) return pending;
    const since = this.clock.start();
    const loading = this.loader
      .add(id)
      .then((target) => {
        // A deleted webhook has no department: only a reconnect can make its absence stale.
        if (this.clock.fresh(target?.departmentId, since)) this.entries.set(id, { target });
        return target;
      })
      .finally(() => {
        if (this.pending.get(id) === loading) this.pending.delete(id);
      });
    this.pending.set(id, loading);
    return loading;
  }

  private departmentChanged(departmentId: string): void {
    this.clock.invalidate(departmentId);
    // Reads in flight may be older than the change: later callers read again.
    this.pending.clear();
    for (const [id, entry] of this.entries.entries()) {
      if (entry.target?.departmentId === departmentId) this.entries.delete(id);
    }
  }

  private clear(): void {
    this.clock.invalidateAll();
    this.pending.clear();
    this.entries.clear();
  }
}
