import { Body, Controller, Delete, Get, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Principal } from '@pollarix/auth';
import { AppError } from '@pollarix/common';
import { AppConfig } from '@pollarix/config';
import type { CookieOptions, Request, Response } from 'express';
import { ErrorResponseDto } from '../docs/error-response.dto';
import { ApiAuthGuard } from './api-auth.guard';
import { CreateSessionDto } from './dto/create-session.dto';
import { SessionInfoDto } from './dto/session-info.dto';
import { SessionStore } from './session.store';
import { cookieNames, sameSecret, sessionCookie, sessionKey } from './credentials';
import { csrfError } from './csrf';
import { RecentCredentials } from './recent-credentials';
import { CachedTokenVerifier } from './token-verifier';

/** Browser sessions: trade an API token for an HttpOnly cookie plus a readable CSRF cookie. */
@ApiTags('auth')
@Controller('auth/session')
export class SessionController {
  constructor(
    private readonly sessions: SessionStore,
    private readonly tokens: CachedTokenVerifier,
    private readonly config: AppConfig,
    private readonly recent: RecentCredentials,
  ) {}

  @Post()
  @HttpCode(204)
  @ApiOperation({
    summary: 'Open a session: sets pollarix_session (HttpOnly) and pollarix_csrf cookies (over HTTPS: __Host-pollarix_session, __Host-pollarix_csrf)',
  })
  @ApiNoContentResponse()
  @ApiUnauthorizedResponse({ type: ErrorResponseDto })
  async create(@Body() dto: CreateSessionDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    const principal = await this.tokens.verify(dto.token);
    if (!principal) throw AppError.unauthorized('Invalid or revoked token');
    const { sessionId, session } = await this.sessions.create(principal.tokenId);
    const base = this.cookieOptions(req);
    const names = cookieNames(req);
    res.cookie(names.session, sessionId, { ...base, httpOnly: true });
    // Readable by the front end's script, which echoes it in X-CSRF-Token (double submit).
    res.cookie(names.csrf, session.csrf, { ...base, httpOnly: false });
  }

  /** Any valid credential, no scope needed: what it reaches, so that a front end shows only what it may do. */
  @Get()
  @UseGuards(ApiAuthGuard)
  @ApiBearerAuth('bearer')
  @ApiCookieAuth('session')
  @ApiOperation({ summary: "The presented credential's departments and scopes (bearer token or session cookie)" })
  @ApiOkResponse({ type: SessionInfoDto })
  @ApiUnauthorizedResponse({ description: 'Missing or invalid credentials', type: ErrorResponseDto })
  info(@Req() req: Request): SessionInfoDto {
    const principal = req.user as Principal;
    return { departments: [...principal.departments], scopes: [...principal.scopes], via: principal.via };
  }

  @Delete()
  @HttpCode(204)
  @ApiOperation({ summary: 'End the session (needs X-CSRF-Token when the session is live)' })
  @ApiNoContentResponse()
  async destroy(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    const sessionId = sessionCookie(req);
    if (sessionId !== undefined) {
      const session = await this.sessions.find(sessionId);
      if (session) {
        if (!sameSecret(req.headers['x-csrf-token'], session.csrf)) throw csrfError();
        await this.sessions.destroy(sessionId);
        this.recent.forget(sessionKey(sessionId));
      }
    }
    const base = this.cookieOptions(req);
    const names = cookieNames(req);
    res.clearCookie(names.session, { ...base, httpOnly: true, maxAge: undefined });
    res.clearCookie(names.csrf, { ...base, maxAge: undefined });
  }

  /** Path=/ and no Domain always, Secure over HTTPS: what the `__Host-` names require. */
  private cookieOptions(req: Request): CookieOptions {
    return { sameSite: 'lax', path: '/', secure: req.secure, maxAge: this.config.sessionTtlMs };
  }
}
