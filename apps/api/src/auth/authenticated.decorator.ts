import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { TokenScope } from '@pollarix/database';
import { ErrorResponseDto } from '../docs/error-response.dto';
import { ApiAuthGuard } from './api-auth.guard';

export const REQUIRED_SCOPE = 'pollarix:required-scope';

export interface AuthenticatedOptions {
  /** The permission the token must hold. Department access is checked whenever the route has :departmentId. */
  scope: TokenScope;
}

/** Bearer token or session cookie, department and scope checks, CSRF for cookie sessions, and their OpenAPI. */
export function Authenticated(options: AuthenticatedOptions) {
  return applyDecorators(
    SetMetadata(REQUIRED_SCOPE, options.scope),
    UseGuards(ApiAuthGuard),
    ApiBearerAuth('bearer'),
    ApiCookieAuth('session'),
    ApiUnauthorizedResponse({ description: 'Missing or invalid credentials', type: ErrorResponseDto }),
    ApiForbiddenResponse({ description: 'Wrong department or scope, or failed CSRF check', type: ErrorResponseDto }),
  );
}
