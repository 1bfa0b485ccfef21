import { isOperator, OPERATOR_TOKEN } from './operator';

describe('isOperator', () => {
  it('admits the admin scope over every department, and the token npm start issues', () => {
    expect(isOperator({ departments: ['*'], scopes: ['admin'] })).toBe(true);
    expect(isOperator({ departments: ['dept_a', '*'], scopes: ['webhooks:read', 'admin'] })).toBe(true);
    expect(isOperator(OPERATOR_TOKEN)).toBe(true);
  });

  it.each([
    ['a department-scoped admin', ['dept_a'], ['admin']],
    ['an admin of several departments', ['dept_a', 'dept_b'], ['admin']],
    ['a read-only token over every department', ['*'], ['webhooks:read']],
    ['every other scope over every department', ['*'], ['webhooks:read', 'webhooks:write', 'events:publish']],
  ] as const)('refuses %s', (_, departments, scopes) => {
    expect(isOperator({ departments, scopes })).toBe(false);
  });
});
