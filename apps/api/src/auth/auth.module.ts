import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { ApiAuthGuard } from './api-auth.guard';
import { SessionController } from './session.controller';
import { SessionStore } from './session.store';
import { BearerTokenStrategy, SessionCookieStrategy } from './strategies';
import { RecentCredentials } from './recent-credentials';
import { CachedTokenVerifier } from './token-verifier';

@Module({
  imports: [PassportModule.register({ session: false })],
  controllers: [SessionController],
  providers: [CachedTokenVerifier, RecentCredentials, SessionStore, BearerTokenStrategy, SessionCookieStrategy, ApiAuthGuard],
  exports: [ApiAuthGuard, CachedTokenVerifier, RecentCredentials],
})
export class AuthModule {}
