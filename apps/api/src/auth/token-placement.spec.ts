import { tokenOutsideHeader } from './token-placement';

describe('tokenOutsideHeader', () => {
  it.each<[string, unknown, unknown, boolean]>([
    ['a query parameter', { access_token: 'plx_a' }, undefined, true],
    ['a repeated query parameter', { access_token: ['a', 'b'] }, undefined, true],
    ['an empty query parameter', { access_token: '' }, undefined, true],
    ['a top-level body field', {}, { access_token: 'plx_a' }, true],
    ['a body field that is null', {}, { access_token: null }, true],
    ['nothing', {}, undefined, false],
    ['other parameters', { limit: '1' }, { name: 'x' }, false],
    ['a nested body field (event data may hold anything)', {}, { data: { access_token: 'x' } }, false],
    ['a batch array', {}, [{ access_token: 'x' }], false],
  ])('%s → %p', (_label, query, body, expected) => {
    expect(tokenOutsideHeader({ query: query as never, body })).toBe(expected);
  });
});
