import { parseKeyRing } from './key-ring';

describe('parseKeyRing', () => {
  const a = 'a'.repeat(64);
  const b = Buffer.alloc(32, 0xbb).toString('base64');

  it('reads one key, hex or base64', () => {
    expect(parseKeyRing(a)).toEqual([Buffer.from(a, 'hex')]);
    expect(parseKeyRing(b)).toEqual([Buffer.alloc(32, 0xbb)]);
  });

  it('reads a ring newest first, spaces around commas allowed', () => {
    expect(parseKeyRing(`${b}, ${a}`)).toEqual([Buffer.alloc(32, 0xbb), Buffer.from(a, 'hex')]);
  });

  it.each([
    ['a short key', 'abc'],
    ['an empty item', `${a},`],
    ['the same key twice', `${a},${a}`],
    ['the same key twice, once as base64', `${a},${Buffer.from(a, 'hex').toString('base64')}`],
    ['a labelled key', `k1:${a}`],
  ])('refuses %s', (_, text) => {
    expect(parseKeyRing(text)).toBeUndefined();
  });
});
