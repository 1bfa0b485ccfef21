import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { canAccessDepartment, isValidDepartmentId, Principal } from '@pollarix/auth';
import { AppError } from '@pollarix/common';
import type { TokenScope } from '@pollarix/database';
import type { Request } from 'express';
import { REQUIRED_SCOPE } from './authenticated.decorator';
import { csrfFailure } from './csrf';

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

    const csrf = csrfFailure(req, principal);
    if (csrf) throw csrf;

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

  override handleRequest<T>(error: Error | null, user: T | false): T {
    if (error) throw error;
    if (!user) throw AppError.unauthorized('Missing or invalid credentials');
    return user;
  }
}
