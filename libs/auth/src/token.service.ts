import { newId } from '@pollarix/common';
import { ApiTokenEntity, Repositories, TOKEN_SCOPES, TokenScope } from '@pollarix/database';
import { generateTokenSecret, hashTokenSecret, looksLikeTokenSecret } from './token-secret';

export const ALL_DEPARTMENTS = '*';
export const DEFAULT_SCOPES: readonly TokenScope[] = ['webhooks:read', 'webhooks:write'];
const DEPARTMENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** What a request is allowed to do, once its credentials are verified. */
export interface Principal {
  tokenId: string;
  departments: readonly string[];
  scopes: readonly TokenScope[];
  /** How the request authenticated: sessions must pass the CSRF check on unsafe methods. */
  via: 'bearer' | 'session';
  sessionId?: string;
  /** The session's CSRF token, compared with X-CSRF-Token on unsafe methods. */
  csrf?: string;
}

/** Redis channel on which a revocation is announced, so API processes drop cached verifications at once. */
export const TOKEN_REVOKED_CHANNEL = 'pollarix:tokens:revoked';

/** How long an API process reuses a token's verification; also the bound on a revocation it missed. */
export const TOKEN_CACHE_TTL_MS = 10_000;

export interface CreateTokenInput {
  departments: string[];
  scopes?: TokenScope[];
  name?: string;
}

export interface TokenView {
  id: string;
  name: string;
  departments: string[];
  scopes: TokenScope[];
  createdAt: string;
  revokedAt: string | null;
}

export class TokenInputError extends Error {}

export function isValidDepartmentId(id: string): boolean {
  return DEPARTMENT_ID.test(id);
}

export function canAccessDepartment(principal: Pick<Principal, 'departments'>, departmentId: string): boolean {
  return principal.departments.includes(ALL_DEPARTMENTS) || principal.departments.includes(departmentId);
}

function toView(token: ApiTokenEntity): TokenView {
  return {
    id: token.id,
    name: token.name,
    departments: token.departments,
    scopes: token.scopes,
    createdAt: token.createdAt.toISOString(),
    revokedAt: token.revokedAt?.toISOString() ?? null,
  };
}

/** Creates, verifies, lists and revokes API tokens. Plain class: the API and the CLI both use it. */
export class TokenService {
  constructor(private readonly repos: Repositories) {}

  async create(input: CreateTokenInput): Promise<{ token: TokenView; secret: string }> {
    const departments = [...new Set(input.departments.map((d) => d.trim()).filter(Boolean))];
    if (departments.length === 0) throw new TokenInputError('at least one department is required');
    for (const department of departments) {
      if (department !== ALL_DEPARTMENTS && !isValidDepartmentId(department)) {
        throw new TokenInputError(`invalid department id "${department}" (letters, digits, _ and -; at most 64)`);
      }
    }
    const scopes: TokenScope[] = [...new Set(input.scopes ?? DEFAULT_SCOPES)];
    for (const scope of scopes) {
      if (!(TOKEN_SCOPES as readonly string[]).includes(scope)) {
        throw new TokenInputError(`unknown scope "${scope}" (one of ${TOKEN_SCOPES.join(', ')})`);
      }
    }
    const secret = generateTokenSecret();
    const entity = await this.repos.tokens.insert({
      id: newId('tok'),
      name: input.name ?? '',
      tokenHash: hashTokenSecret(secret),
      departments,
      scopes,
    });
    return { token: toView(entity), secret };
  }

  /** The principal for a bearer secret, or null when it is malformed, unknown or revoked. */
  async verify(secret: string): Promise<Omit<Principal, 'via'> | null> {
    if (!looksLikeTokenSecret(secret)) return null;
    const token = await this.repos.tokens.findActiveByHash(hashTokenSecret(secret));
    return token ? { tokenId: token.id, departments: token.departments, scopes: token.scopes } : null;
  }

  async findActive(tokenId: string): Promise<Omit<Principal, 'via'> | null> {
    const token = await this.repos.tokens.findActiveById(tokenId);
    return token ? { tokenId: token.id, departments: token.departments, scopes: token.scopes } : null;
  }

  async list(): Promise<TokenView[]> {
    return (await this.repos.tokens.list()).map(toView);
  }

  revoke(tokenId: string): Promise<boolean> {
    return this.repos.tokens.revoke(tokenId);
  }
}
