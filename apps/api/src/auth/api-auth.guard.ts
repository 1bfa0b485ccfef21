import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { canAccessDepartment, isValidDepartmentId, Principal } from '@pollarix/auth';
import { AppError, ErrorCode } from '@pollarix/common';
import type { TokenScope } from '@pollarix/database';
import type { Request } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { REQUIRED_SCOPE } from './authenticated.decorator';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Authentication (bearer, then session cookie) through passport, then, in this order: CSRF for cookie
 * sessions on unsafe methods, department access (403), permission scope (403).
 */
@Injectable()
export class ApiAuthGuard extends AuthGuard(['bearer', 'session']) {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    await super.canActivate(context);
    const req = context.switchToHttp().getRequest<Request & { user: Principal }>();
    const principal = req.user;

    if (principal.via === 'session' && !SAFE_METHODS.has(req.method)) {
      const sent = req.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !principal.csrf || !sameSecret(sent, principal.csrf)) {
        throw new AppError(ErrorCode.CsrfFailed, 'Missing or invalid X-CSRF-Token header for a cookie session');
      }
    }

    const departmentId = req.params.departmentId;
    if (typeof departmentId === 'string') {
      if (!isValidDepartmentId(departmentId)) throw AppError.notFound(`Department ${departmentId} not found`);
      if (!canAccessDepartment(principal, departmentId)) {
        throw AppError.forbidden(`This token has no access to department ${departmentId}`);
      }
    }

    const scope = this.reflector.get<TokenScope | undefined>(REQUIRED_SCOPE, context.getHandler());
    if (scope && !principal.scopes.includes(scope) && !principal.scopes.includes('admin')) {
      throw AppError.forbidden(`This token lacks the ${scope} scope`);
    }
    return true;
  }

  override handleRequest<T>(error: unknown, user: T | false): T {
    if (error) throw error;
    if (!user) throw AppError.unauthorized('Missing or invalid credentials');
    return user;
  }
}
