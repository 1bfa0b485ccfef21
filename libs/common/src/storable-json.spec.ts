import { escapeUnstorable, findUnstorable, formatFieldPath, MAX_JSON_DEPTH, MAX_UNSTORABLE_REPORTED, unstorableReason } from './storable-json';

describe('unstorableReason', () => {
  it.each([
    ['plain text', null],
    ['', null],
    ['emoji 😀 is a valid surrogate pair', null],
    ['\u{10FFFF} and \uFFFF and \uFFFE are storable', null],
    ['a\u0000b', 'holds U+0000 (NUL)'],
    ['\u0000', 'holds U+0000 (NUL)'],
    ['lone high \uD83D here', 'holds a lone surrogate (U+D83D)'],
    ['lone low \uDE00 here', 'holds a lone surrogate (U+DE00)'],
    ['high at the end \uDBFF', 'holds a lone surrogate (U+DBFF)'],
    ['low first \uDC00\uD800', 'holds a lone surrogate (U+DC00)'],
    ['reversed pair \uDE00\uD83D', 'holds a lone surrogate (U+DE00)'],
  ])('%j → %s', (text, reason) => {
    expect(unstorableReason(text)).toBe(reason);
  });
});

describe('formatFieldPath', () => {
  it('writes paths as a reader would', () => {
    expect(formatFieldPath(['data', 'answers', 2, 'text'])).toBe('data.answers[2].text');
    expect(formatFieldPath(['events', 3, 'data', 'note'])).toBe('events[3].data.note');
    expect(formatFieldPath(['headers', 'X-Foo'])).toBe('headers.X-Foo');
    expect(formatFieldPath(['name'])).toBe('name');
    expect(formatFieldPath(['data', 'a.b', 'c d', ''])).toBe('data["a.b"]["c d"][""]');
    expect(formatFieldPath([])).toBe('');
  });
});

describe('escapeUnstorable', () => {
  it('writes NUL and lone surrogates as visible escapes, and keeps pairs', () => {
    expect(escapeUnstorable('a\u0000b\uD800c😀\uDFFF')).toBe('a\\u0000b\\ud800c😀\\udfff');
  });
});

describe('findUnstorable', () => {
  it('finds nothing in storable values of every JSON type', () => {
    expect(findUnstorable({ a: 'x', b: [1, true, null, { c: '😀' }], d: 2.5 })).toEqual([]);
    expect(findUnstorable(null)).toEqual([]);
    expect(findUnstorable(42)).toEqual([]);
    expect(findUnstorable('text')).toEqual([]);
  });

  it('locates every bad value at any depth, in document order', () => {
    const found = findUnstorable({
      type: 'SURVEY_COMPLETED',
      data: { answers: [{ text: 'ok' }, { text: 'ok' }, { text: 'bad\u0000' }], note: 'x\uD800' },
      name: '\uDC00',
    });
    expect(found.map((f) => f.loc)).toEqual([['data', 'answers', 2, 'text'], ['data', 'note'], ['name']]);
    expect(found[0].msg).toBe('data.answers[2].text holds U+0000 (NUL): text must be valid Unicode without NUL');
    expect(found[1].msg).toContain('data.note holds a lone surrogate (U+D800)');
  });

  it('locates a bad key by itself, escaped, without echoing the bytes', () => {
    const found = findUnstorable({ headers: { 'X-\u0000': 'fine', 'X-Ok': 'fine' } });
    expect(found).toEqual([{ loc: ['headers', 'X-\\u0000'], msg: expect.stringMatching(/^Field name headers\.X-\\u0000 holds U\+0000 \(NUL\)/) }]);
    expect(found.flatMap((f) => [f.msg, ...f.loc]).join('')).not.toContain('\u0000');
  });

  it('refuses the keys the framework strips from bodies, at any depth, and only as keys', () => {
    const found = findUnstorable(JSON.parse('{"a": {"__proto__": 1}, "constructor": {"prototype": 2}, "b": ["constructor"], "toString": 3}'));
    expect(found.map((f) => f.loc)).toEqual([['a', '__proto__'], ['constructor']]);
    expect(found[0].msg).toBe('Field name a.__proto__ is reserved: __proto__, constructor and prototype cannot be stored as keys');
  });

  it('locates below a given prefix (a path or query parameter)', () => {
    expect(findUnstorable('wh\u0000', ['webhookId'])).toEqual([{ loc: ['webhookId'], msg: expect.stringContaining('webhookId holds U+0000') }]);
  });

  it('reports at most the limit, however many bad strings there are', () => {
    const many = Array.from({ length: 1000 }, () => '\u0000');
    expect(findUnstorable(many)).toHaveLength(MAX_UNSTORABLE_REPORTED);
    expect(findUnstorable(many, [], 3).map((f) => f.loc)).toEqual([[0], [1], [2]]);
  });

  it('refuses nesting deeper than MAX_JSON_DEPTH once, without a deep walk, even past the report limit', () => {
    // Each step is an object and an array: MAX_JSON_DEPTH / 2 steps are exactly the deepest accepted.
    const nest = (steps: number, inner: unknown): unknown => (steps === 0 ? inner : { a: [nest(steps - 1, inner)] });
    expect(findUnstorable(nest(MAX_JSON_DEPTH / 2, 'ok'))).toEqual([]);
    const [deep, ...more] = findUnstorable(nest(MAX_JSON_DEPTH / 2 + 1, 'ok'));
    expect(more).toEqual([]);
    expect(deep).toEqual({
      loc: Array(MAX_JSON_DEPTH / 2)
        .fill(['a', 0])
        .flat(),
      msg: expect.stringMatching(/…? is nested deeper than 64 levels/),
      tooDeep: true,
    });

    let huge: unknown = [];
    for (let i = 0; i < 300_000; i++) huge = [huge];
    const many = [...Array.from({ length: 30 }, () => '\u0000'), huge];
    const found = findUnstorable(many);
    expect(found).toHaveLength(MAX_UNSTORABLE_REPORTED + 1);
    expect(found.at(-1)).toMatchObject({ loc: [30, ...Array(MAX_JSON_DEPTH - 1).fill(0)], tooDeep: true });
  });
});
