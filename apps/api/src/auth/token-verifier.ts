import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { hashTokenSecret, Principal, TOKEN_CACHE_TTL_MS, TOKEN_REVOKED_CHANNEL, TokenService } from '@pollarix/auth';
import { TtlCache, ttlCache } from '@pollarix/common';
import { Database } from '@pollarix/database';
import { InjectRedis, RedisConnection } from '@pollarix/redis';

type Verified = Omit<Principal, 'via'>;

const MAX_ENTRIES = 10_000;

/**
 * Token verification with a short in-process cache: most requests then cost no database round trip.
 * Revocations are announced on a Redis channel and evict the token in every API process at once; the
 * TTL bounds the staleness should an announcement be missed.
 */
@Injectable()
export class CachedTokenVerifier implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(CachedTokenVerifier.name);
  private readonly tokens: TokenService;
  private readonly byHash = ttlCache<string, Verified>({ max: MAX_ENTRIES, ttlMs: TOKEN_CACHE_TTL_MS });
  private readonly byId = ttlCache<string, Verified>({ max: MAX_ENTRIES, ttlMs: TOKEN_CACHE_TTL_MS });
  private subscriber?: RedisConnection;

  constructor(
    db: Database,
    @InjectRedis() private readonly redis: RedisConnection,
  ) {
    this.tokens = new TokenService(db.repos);
  }

  async onModuleInit(): Promise<void> {
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('message', (_channel: string, tokenId: string) => this.evict(tokenId));
    this.subscriber.on('error', () => undefined);
    // Reconnects re-subscribe (ioredis autoResubscribe); anything missed meanwhile expires with the TTL.
    await this.subscriber.subscribe(TOKEN_REVOKED_CHANNEL).catch((error: Error) => {
      this.logger.warn(`Not subscribed to token revocations (${error.message}); cache TTL applies`);
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  async verify(secret: string): Promise<Verified | null> {
    const hash = hashTokenSecret(secret);
    const cached = this.byHash.get(hash);
    if (cached) return cached;
    const principal = await this.tokens.verify(secret);
    if (principal) this.byHash.set(hash, principal);
    return principal;
  }

  async findActive(tokenId: string): Promise<Verified | null> {
    const cached = this.byId.get(tokenId);
    if (cached) return cached;
    const principal = await this.tokens.findActive(tokenId);
    if (principal) this.byId.set(tokenId, principal);
    return principal;
  }

  evict(tokenId: string): void {
    for (const cache of [this.byHash, this.byId]) evictToken(cache, tokenId);
  }
}

function evictToken(cache: TtlCache<string, Verified>, tokenId: string): void {
  const keys = [...cache.entries()].filter(([, principal]) => principal.tokenId === tokenId).map(([key]) => key);
  for (const key of keys) cache.delete(key);
}
