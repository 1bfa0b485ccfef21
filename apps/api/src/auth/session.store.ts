import { Injectable } from '@nestjs/common';
import { AppConfig } from '@pollarix/config';
import { InjectRedis, RedisConnection } from '@pollarix/redis';
import { createHash, randomBytes } from 'node:crypto';

export interface Session {
  tokenId: string;
  csrf: string;
}

const KEY_PREFIX = 'pollarix:session:';
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/** Browser sessions in Redis, shared by every API process. Keys hold a hash, never the cookie value. */
@Injectable()
export class SessionStore {
  constructor(
    @InjectRedis() private readonly redis: RedisConnection,
    private readonly config: AppConfig,
  ) {}

  private key(sessionId: string): string {
    return KEY_PREFIX + createHash('sha256').update(sessionId).digest('hex');
  }

  async create(tokenId: string): Promise<{ sessionId: string; session: Session }> {
    const sessionId = randomBytes(32).toString('base64url');
    const session: Session = { tokenId, csrf: randomBytes(32).toString('base64url') };
    await this.redis.set(this.key(sessionId), JSON.stringify(session), 'PX', this.config.sessionTtlMs);
    return { sessionId, session };
  }

  async find(sessionId: string): Promise<Session | null> {
    if (!SESSION_ID.test(sessionId)) return null;
    const stored = await this.redis.get(this.key(sessionId));
    return stored ? (JSON.parse(stored) as Session) : null;
  }

  async destroy(sessionId: string): Promise<void> {
    if (SESSION_ID.test(sessionId)) await this.redis.del(this.key(sessionId));
  }
}
