import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { hashTokenSecret, Principal, TOKEN_CACHE_TTL_MS, TOKEN_REVOKED_CHANNEL, TokenService } from '@pollarix/auth';
import { Database } from '@pollarix/database';
import { InjectRedis, RedisConnection } from '@pollarix/redis';

type Verified = Omit<Principal, 'via'>;

interface Entry {
  principal: Verified;
  expiresAt: number;
}

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
  private readonly byHash = new Map<string, Entry>();
  private readonly byId = new Map<string, Entry>();
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
    const cached = this.fresh(this.byHash, hash);
    if (cached) return cached;
    const principal = await this.tokens.verify(secret);
    if (principal) this.remember(this.byHash, hash, principal);
    return principal;
  }

  async findActive(tokenId: string): Promise<Verified | null> {
    const cached = this.fresh(this.byId, tokenId);
    if (cached) return cached;
    const principal = await this.tokens.findActive(tokenId);
    if (principal) this.remember(this.byId, tokenId, principal);
    return principal;
  }

  evict(tokenId: string): void {
    for (const map of [this.byHash, this.byId]) {
      for (const [key, entry] of map) if (entry.principal.tokenId === tokenId) map.delete(key);
    }
  }

  private fresh(map: Map<string, Entry>, key: string): Verified | null {
    const entry = map.get(key);
    if (!entry) return null;
    if (entry.expiresAt > Date.now()) return entry.principal;
    map.delete(key);
    return null;
  }

  private remember(map: Map<string, Entry>, key: string, principal: Verified): void {
    if (map.size >= MAX_ENTRIES) map.clear();
    map.set(key, { principal, expiresAt: Date.now() + TOKEN_CACHE_TTL_MS });
  }
}
