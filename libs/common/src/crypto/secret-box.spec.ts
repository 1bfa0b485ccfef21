import { randomBytes } from 'node:crypto';
import { legacySeal } from '../../../../test/support/legacy-seal';
import { SecretBox, secretKeyId, UnsealError } from './secret-box';

describe('SecretBox', () => {
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);
  const box = new SecretBox(keyA);
  const context = '["webhooks","wh_1","secret_sealed"]';

  it('round-trips text and JSON', () => {
    expect(box.open(box.seal('whsec_abc', context), context)).toBe('whsec_abc');
    expect(box.openJson(box.sealJson({ Authorization: 'Bearer x' }, context), context)).toEqual({ Authorization: 'Bearer x' });
  });

  it('never stores the plaintext and uses a fresh IV each time', () => {
    const a = box.seal('Bearer secret123', context);
    expect(a).not.toContain('secret123');
    expect(a).not.toBe(box.seal('Bearer secret123', context));
  });

  it('refuses tampered text and other keys', () => {
    const sealed = box.seal('value', context);
    const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA');
    expect(() => box.open(tampered, context)).toThrow(UnsealError);
    expect(() => new SecretBox(randomBytes(32)).open(sealed, context)).toThrow(UnsealError);
  });

  it('carries the id of the key that sealed, derived from the key', () => {
    const sealed = box.seal('value', context);
    expect(sealed.split('.').slice(0, 2)).toEqual(['v2', secretKeyId(keyA)]);
    expect(box.keyId).toBe(secretKeyId(keyA));
    expect(secretKeyId(keyA)).not.toBe(secretKeyId(keyB));
    expect(sealed).not.toContain(keyA.toString('base64url').slice(0, 8));
  });

  it('refuses a value moved to another row or column (associated data)', () => {
    const sealed = box.seal('whsec_abc', context);
    expect(() => box.open(sealed, '["webhooks","wh_2","secret_sealed"]')).toThrow(UnsealError);
    expect(() => box.open(sealed, '["webhooks","wh_1","previous_secret_sealed"]')).toThrow(UnsealError);
  });

  describe('a key ring', () => {
    const ring = new SecretBox([keyB, keyA]);

    it('seals with the newest key and opens what every listed key sealed', () => {
      const underA = box.seal('old', context);
      const underB = ring.seal('new', context);
      expect(underB.split('.')[1]).toBe(secretKeyId(keyB));
      expect(ring.open(underA, context)).toBe('old');
      expect(ring.open(underB, context)).toBe('new');
      expect(new SecretBox(keyB).open(underB, context)).toBe('new');
    });

    it('names the missing key when a value was sealed under a key the ring no longer lists', () => {
      const underA = box.seal('old', context);
      expect(() => new SecretBox(keyB).open(underA, context)).toThrow(new UnsealError(`sealed under key ${secretKeyId(keyA)}, which the key ring no longer lists`));
    });

    it('tells values under the newest key from the rest, and reseals the rest under it', () => {
      const underA = box.seal('old', context);
      expect(ring.isCurrent(underA)).toBe(false);
      const resealed = ring.reseal(underA, context);
      expect(ring.isCurrent(resealed)).toBe(true);
      expect(new SecretBox(keyB).open(resealed, context)).toBe('old');
      expect(ring.isCurrent(legacySeal(keyB, 'x'))).toBe(false);
      expect(() => ring.reseal(underA, '["webhooks","wh_2","secret_sealed"]')).toThrow(UnsealError);
    });

    it('refuses the same key twice, an empty ring and short keys', () => {
      expect(() => new SecretBox([keyA, Buffer.from(keyA)])).toThrow(/differ/);
      expect(() => new SecretBox([])).toThrow(/at least one key/);
      expect(() => new SecretBox([keyA, randomBytes(16)])).toThrow(/32-byte/);
    });
  });

  describe('values sealed before key ids (v1)', () => {
    it('open with whichever listed key sealed them, whatever the context', () => {
      const legacy = legacySeal(keyA, 'whsec_legacy');
      expect(box.open(legacy, context)).toBe('whsec_legacy');
      expect(new SecretBox([keyB, keyA]).open(legacy, context)).toBe('whsec_legacy');
      expect(new SecretBox([keyB, keyA]).reseal(legacy, context).split('.')[1]).toBe(secretKeyId(keyB));
    });

    it('do not open once their key has left the ring', () => {
      expect(() => new SecretBox(keyB).open(legacySeal(keyA, 'x'), context)).toThrow(UnsealError);
    });
  });

  it('refuses what is not a sealed value', () => {
    for (const text of ['damaged', 'v2.a.b.c', 'v1.a.b', '']) expect(() => box.open(text, context)).toThrow(UnsealError);
  });
});
