import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { hashTokenSecret, Principal, TOKEN_CACHE_TTL_MS, TOKEN_REVOKED_CHANNEL, TokenService } from '@pollarix/auth';
import { TtlCache, ttlCache } from '@pollarix/common';
import { Database } from '@pollarix/database';
import { InjectRedis, RedisConnection } from '@pollarix/redis';
import { RecentCredentials } from './recent-credentials';

type Verified = Omit<Principal, 'via'>;

const MAX_ENTRIES = 10_000;
/** How long a failed lookup is remembered: a repeated bad token or revoked session costs no database read. */
export const FAILED_LOOKUP_TTL_MS = 30_000;

/**
 * Token verification with a short in-process cache: most requests then cost no database round trip.
 * Revocations are announced on a Redis channel and evict the token in every API process at once; the
 * TTL bounds the staleness should an announcement be missed. Failed lookups are remembered too, for
 * FAILED_LOOKUP_TTL_MS (a secret that failed cannot become valid: tokens are random and new).
 */
@Injectable()
export class CachedTokenVerifier implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(CachedTokenVerifier.name);
  private readonly tokens: TokenService;
  private readonly byHash = ttlCache<string, Verified>({ max: MAX_ENTRIES, ttlMs: TOKEN_CACHE_TTL_MS });
  private readonly byId = ttlCache<string, Verified>({ max: MAX_ENTRIES, ttlMs: TOKEN_CACHE_TTL_MS });
  /** Secret hashes and token ids whose lookup found nothing. */
  private readonly failed = ttlCache<string, true>({ max: MAX_ENTRIES, ttlMs: FAILED_LOOKUP_TTL_MS });
  private subscriber?: RedisConnection;

  constructor(
    db: Database,
    @InjectRedis() private readonly redis: RedisConnection,
    private readonly recent: RecentCredentials,
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
    return this.lookup(this.byHash, hashTokenSecret(secret), () => this.tokens.verify(secret));
  }

  async findActive(tokenId: string): Promise<Verified | null> {
    return this.lookup(this.byId, tokenId, () => this.tokens.findActive(tokenId));
  }

  /** A cached answer, a remembered failure, or one database read whose answer is remembered. */
  private async lookup(cache: TtlCache<string, Verified>, key: string, load: () => Promise<Verified | null>): Promise<Verified | null> {
    const cached = cache.get(key);
    if (cached) return cached;
    // Hashes (64 hex) and token ids (tok_…) cannot collide in the one failure cache.
    if (this.failed.has(key)) return null;
    const principal = await load();
    if (principal) cache.set(key, principal);
    else this.failed.set(key, true);
    return principal;
  }

  evict(tokenId: string): void {
    for (const cache of [this.byHash, this.byId]) evictToken(cache, tokenId);
    this.recent.forgetToken(tokenId);
  }
}

function evictToken(cache: TtlCache<string, Verified>, tokenId: string): void {
  const keys = [...cache.entries()].filter(([, principal]) => principal.tokenId === tokenId).map(([key]) => key);
  for (const key of keys) cache.delete(key);
}
