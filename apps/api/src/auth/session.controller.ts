import { Body, Controller, Delete, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiNoContentResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { AppError, ErrorCode } from '@pollarix/common';
import { AppConfig } from '@pollarix/config';
import type { CookieOptions, Request, Response } from 'express';
import { ErrorResponseDto } from '../docs/error-response.dto';
import { CreateSessionDto } from './dto/create-session.dto';
import { SessionStore } from './session.store';
import { CSRF_COOKIE, SESSION_COOKIE } from './strategies';
import { CachedTokenVerifier } from './token-verifier';

/** Browser sessions: trade an API token for an HttpOnly cookie plus a readable CSRF cookie. */
@ApiTags('auth')
@Controller('auth/session')
export class SessionController {
  constructor(
    private readonly sessions: SessionStore,
    private readonly tokens: CachedTokenVerifier,
    private readonly config: AppConfig,
  ) {}

  @Post()
  @HttpCode(204)
  @ApiOperation({ summary: 'Open a session: sets pollarix_session (HttpOnly) and pollarix_csrf cookies' })
  @ApiNoContentResponse()
  @ApiUnauthorizedResponse({ type: ErrorResponseDto })
  async create(@Body() dto: CreateSessionDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    const principal = await this.tokens.verify(dto.token);
    if (!principal) throw AppError.unauthorized('Invalid or revoked token');
    const { sessionId, session } = await this.sessions.create(principal.tokenId);
    const base = this.cookieOptions(req);
    res.cookie(SESSION_COOKIE, sessionId, { ...base, httpOnly: true });
    // Readable by the front end's script, which echoes it in X-CSRF-Token (double submit).
    res.cookie(CSRF_COOKIE, session.csrf, { ...base, httpOnly: false });
  }

  @Delete()
  @HttpCode(204)
  @ApiOperation({ summary: 'End the session (needs X-CSRF-Token when the session is live)' })
  @ApiNoContentResponse()
  async destroy(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    const sessionId: unknown = req.cookies?.[SESSION_COOKIE];
    if (typeof sessionId === 'string') {
      const session = await this.sessions.find(sessionId);
      if (session) {
        if (req.headers['x-csrf-token'] !== session.csrf) {
          throw new AppError(ErrorCode.CsrfFailed, 'Missing or invalid X-CSRF-Token header for a cookie session');
        }
        await this.sessions.destroy(sessionId);
      }
    }
    const base = this.cookieOptions(req);
    res.clearCookie(SESSION_COOKIE, { ...base, httpOnly: true, maxAge: undefined });
    res.clearCookie(CSRF_COOKIE, { ...base, maxAge: undefined });
  }

  private cookieOptions(req: Request): CookieOptions {
    return { sameSite: 'lax', path: '/', secure: req.secure, maxAge: this.config.sessionTtlMs };
  }
}
