import type { TokenScope } from '@pollarix/database';
import { ALL_DEPARTMENTS, Principal } from './token.service';

/**
 * An operator token: `admin` over every department (`*`). The operator surfaces (the queue dashboard)
 * show every department's jobs, so a department's own `admin` token is not enough to open them.
 * `npm start` issues one with exactly these departments and scopes.
 */
export const OPERATOR_TOKEN: { readonly departments: readonly string[]; readonly scopes: readonly TokenScope[] } = {
  departments: [ALL_DEPARTMENTS],
  scopes: ['admin'],
};

/** Whether a verified principal may use the operator surfaces: the `admin` scope over `*`. */
export function isOperator(principal: Pick<Principal, 'departments' | 'scopes'>): boolean {
  return principal.scopes.includes('admin') && principal.departments.includes(ALL_DEPARTMENTS);
}
