import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ttlCache } from '@pollarix/common';
import { Webhook, WEBHOOKS_CHANGED_CHANNEL } from '@pollarix/database';
import { InjectRedis, RedisConnection } from '@pollarix/redis';

/** Bound on staleness should a change announcement be missed (Redis reconnecting). */
export const WEBHOOK_LIST_TTL_MS = 5_000;
const MAX_DEPARTMENTS = 5_000;

/**
 * The decrypted webhook list of recently read departments, so that the hot GET costs no PostgreSQL
 * round trip. Every write evicts its department here and announces it on Redis to the other API
 * processes; a generation counter keeps a read that raced a write from caching the old list.
 */
@Injectable()
export class WebhookListCache implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(WebhookListCache.name);
  private readonly entries = ttlCache<string, Webhook[]>({ max: MAX_DEPARTMENTS, ttlMs: WEBHOOK_LIST_TTL_MS });
  private readonly generations = new Map<string, number>();
  private subscriber?: RedisConnection;

  constructor(@InjectRedis() private readonly redis: RedisConnection) {}

  async onModuleInit(): Promise<void> {
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('message', (_channel: string, departmentId: string) => this.evict(departmentId));
    this.subscriber.on('error', () => undefined);
    // A reconnect may miss announcements: drop everything rather than trust what was cached.
    this.subscriber.on('ready', () => this.entries.clear());
    await this.subscriber.subscribe(WEBHOOKS_CHANGED_CHANNEL).catch((error: Error) => {
      this.logger.warn(`Not subscribed to webhook changes (${error.message}); cache TTL applies`);
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  async list(departmentId: string, load: () => Promise<Webhook[]>): Promise<Webhook[]> {
    const cached = this.entries.get(departmentId);
    if (cached !== undefined) return cached;
    const generation = this.generations.get(departmentId) ?? 0;
    const webhooks = await load();
    if ((this.generations.get(departmentId) ?? 0) === generation) this.entries.set(departmentId, webhooks);
    return webhooks;
  }

  /** After a write: evict here at once, and in every other API process through Redis. */
  async changed(departmentId: string): Promise<void> {
    this.evict(departmentId);
    await this.redis.publish(WEBHOOKS_CHANGED_CHANNEL, departmentId).catch((error: Error) => {
      this.logger.warn(`Could not announce a change of ${departmentId} (${error.message}); other processes catch up within ${WEBHOOK_LIST_TTL_MS} ms`);
    });
  }

  private evict(departmentId: string): void {
    this.entries.delete(departmentId);
    this.generations.set(departmentId, (this.generations.get(departmentId) ?? 0) + 1);
    if (this.generations.size > MAX_DEPARTMENTS * 2) this.generations.clear();
  }
}
