import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Principal } from '@pollarix/auth';
import type { Request } from 'express';
import { Strategy as BearerStrategy } from 'passport-http-bearer';
import { Strategy as CustomStrategy } from 'passport-custom';
import { sessionCookie } from './credentials';
import { CachedTokenVerifier } from './token-verifier';
import { SessionStore } from './session.store';

/**
 * `Authorization: Bearer plx_…` → the token's principal. passport-http-bearer also reads `access_token`
 * from the query and the body: refuseTokenOutsideHeader refuses such requests before any strategy runs.
 */
@Injectable()
export class BearerTokenStrategy extends PassportStrategy(BearerStrategy, 'bearer') {
  constructor(private readonly tokens: CachedTokenVerifier) {
    super();
  }

  async validate(secret: string): Promise<Principal | false> {
    const principal = await this.tokens.verify(secret);
    return principal ? { ...principal, via: 'bearer' } : false;
  }
}

/** The session cookie (named for the request's scheme) → the principal of the token the session was opened with. */
@Injectable()
export class SessionCookieStrategy extends PassportStrategy(CustomStrategy, 'session') {
  constructor(
    private readonly sessions: SessionStore,
    private readonly tokens: CachedTokenVerifier,
  ) {
    super();
  }

  async validate(req: Request): Promise<Principal | false> {
    // An Authorization header means the caller chose bearer auth: a bad one must not fall back to a cookie.
    if (req.headers.authorization !== undefined) return false;
    const sessionId = sessionCookie(req);
    if (sessionId === undefined) return false;
    const session = await this.sessions.find(sessionId);
    if (!session) return false;
    // The token behind a session may have been revoked since the login.
    const principal = await this.tokens.findActive(session.tokenId);
    return principal ? { ...principal, via: 'session', sessionId, csrf: session.csrf } : false;
  }
}
