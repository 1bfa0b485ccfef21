import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { closeRedisConnection, RedisConnection } from './redis-connection';
import { InjectRedis } from './redis.module';

/**
 * Redis channel on which a write to a department's webhooks is announced; the message is the
 * department id. A stored contract between processes of different versions during a rolling upgrade.
 */
export const WEBHOOKS_CHANGED_CHANNEL = 'pollarix:webhooks:changed';

/**
 * How long a cache of webhooks (the API's lists, the worker's targets) may serve what it read should an
 * announcement be missed (Redis reconnecting); announced changes apply at once.
 */
export const WEBHOOK_CACHE_TTL_MS = 5_000;

/** What a cache of webhooks hears from WebhookChanges. */
export interface WebhookChangeListener {
  /** A webhook of this department was written (here or in another process). */
  onChange(departmentId: string): void;
  /** Announcements may have been missed (the subscription was (re)made): nothing cached can be trusted. */
  onStale(): void;
}

/**
 * The one announcement of webhook writes, in every process that writes or caches webhooks (API,
 * worker): `changed(departmentId)` after every write tells this process's listeners at once and every
 * other process through Redis. Listeners register with `listen` (in their constructor); the Redis
 * subscription is opened at module init only when there are any. A missed announcement (Redis down,
 * a reconnect) is not retried: listeners hear `onStale` once subscribed again, and their TTL bounds
 * what they serve meanwhile.
 */
@Injectable()
export class WebhookChanges implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(WebhookChanges.name);
  private readonly listeners = new Set<WebhookChangeListener>();
  private subscriber?: RedisConnection;

  constructor(@InjectRedis() private readonly redis: RedisConnection) {}

  /** Registers a listener; returns what removes it. */
  listen(listener: WebhookChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** After a write to a webhook of `departmentId` (committed). Never throws: a lost announcement is bounded by the listeners' TTL. */
  async changed(departmentId: string): Promise<void> {
    this.notify(departmentId);
    await this.redis.publish(WEBHOOKS_CHANGED_CHANNEL, departmentId).catch((error: Error) => {
      this.logger.warn(`Could not announce a change of ${departmentId}'s webhooks (${error.message}); other processes' caches catch up on their TTL`);
    });
  }

  async onModuleInit(): Promise<void> {
    if (this.listeners.size === 0) return;
    const subscriber = this.redis.duplicate();
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, departmentId: string) => {
      if (channel === WEBHOOKS_CHANGED_CHANNEL) this.notify(departmentId);
    });
    subscriber.on('error', () => undefined);
    // Announcements made while disconnected are lost: once subscribed again (ioredis re-subscribes on its
    // own too; a second SUBSCRIBE is harmless), everything cached may be stale.
    subscriber.on('ready', () => void this.subscribe(subscriber));
    // The first subscription is awaited (it waits in the offline queue until connected, and gives up with the
    // connection's retries), so that a process starts subscribed unless Redis is unreachable.
    await subscriber.subscribe(WEBHOOKS_CHANGED_CHANNEL).catch((error: Error) => {
      this.logger.warn(`Not subscribed to webhook changes (${error.message}); caches rely on their TTL until Redis is back`);
    });
  }

  async onModuleDestroy(): Promise<void> {
    if (this.subscriber) await closeRedisConnection(this.subscriber);
  }

  private async subscribe(subscriber: RedisConnection): Promise<void> {
    try {
      await subscriber.subscribe(WEBHOOKS_CHANGED_CHANNEL);
      for (const listener of this.listeners) listener.onStale();
    } catch (error) {
      this.logger.warn(`Not subscribed to webhook changes (${(error as Error).message}); caches rely on their TTL until Redis is back`);
    }
  }

  private notify(departmentId: string): void {
    for (const listener of this.listeners) listener.onChange(departmentId);
  }
}
