import fc from 'fast-check';
import { loggableText, truncateText } from './loggable-text';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe('loggableText', () => {
  it('leaves ordinary text, tabs and line breaks alone', () => {
    expect(loggableText('{"ok":true}\n\tnext\r\nline — 日本語 😀')).toBe('{"ok":true}\n\tnext\r\nline — 日本語 😀');
    expect(loggableText(Buffer.from('héllo 😀', 'utf8'))).toBe('héllo 😀');
  });

  it('writes NUL, other C0 controls and DEL as visible \\u escapes', () => {
    expect(loggableText(Buffer.from([0x61, 0x00, 0x62]))).toBe('a\\u0000b');
    expect(loggableText('\u0001\u001b[31m\u007f\u000b\u000c')).toBe('\\u0001\\u001b[31m\\u007f\\u000b\\u000c');
  });

  it('replaces invalid UTF-8 with U+FFFD', () => {
    expect(loggableText(Buffer.from([0x61, 0xff, 0xfe, 0x62]))).toBe('a\ufffd\ufffdb');
    // A 3-byte sequence (€ = e2 82 ac) missing its last byte, mid-text and at the end (a cut at a size limit).
    expect(loggableText(Buffer.from([0xe2, 0x82, 0x41]))).toBe('\ufffdA');
    expect(loggableText(Buffer.from([0x41, 0xe2, 0x82]))).toBe('A\ufffd');
    // An encoded surrogate (ed a0 80) is not valid UTF-8 and must not come out as a lone surrogate.
    expect(LONE_SURROGATE.test(loggableText(Buffer.from([0xed, 0xa0, 0x80])))).toBe(false);
  });

  it('replaces lone surrogates in strings and keeps pairs', () => {
    expect(loggableText('a\ud800b\udc00c')).toBe('a\ufffdb\ufffdc');
    expect(loggableText('\ud83d\ude00\ud83d')).toBe('😀\ufffd');
  });

  it('reads a Uint8Array view at its offset', () => {
    const backing = Buffer.from('xxhixx');
    expect(loggableText(new Uint8Array(backing.buffer, backing.byteOffset + 2, 2))).toBe('hi');
  });

  it('for any bytes, gives text without NUL or lone surrogates that survives a UTF-8 round trip', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const text = loggableText(bytes);
        expect(text).not.toContain('\u0000');
        expect(LONE_SURROGATE.test(text)).toBe(false);
        expect(Buffer.from(text, 'utf8').toString('utf8')).toBe(text);
      }),
      { numRuns: 2_000 },
    );
  });

  it('for any string (lone surrogates included), gives text without NUL or lone surrogates', () => {
    // Any UTF-16 unit, so lone high and low surrogates turn up, mixed with whole code points.
    const units = fc.string({ unit: fc.nat(0xffff).map((code) => String.fromCharCode(code)), maxLength: 200 });
    fc.assert(
      fc.property(units, fc.string({ unit: 'binary', maxLength: 50 }), (raw, codePoints) => {
        const text = loggableText(raw + codePoints);
        expect(text).not.toContain('\u0000');
        expect(LONE_SURROGATE.test(text)).toBe(false);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('truncateText', () => {
  it('keeps short text and cuts long text', () => {
    expect(truncateText('abc', 5)).toBe('abc');
    expect(truncateText('abcdef', 3)).toBe('abc');
    expect(truncateText('abc', 0)).toBe('');
  });

  it('never splits a surrogate pair', () => {
    expect(truncateText('a😀b', 2)).toBe('a');
    expect(truncateText('a😀b', 3)).toBe('a😀');
  });
});
