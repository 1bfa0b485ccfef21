import { randomBytes } from 'node:crypto';
import { SecretBox } from './secret-box';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('round-trips text and JSON', () => {
    expect(box.open(box.seal('whsec_abc'))).toBe('whsec_abc');
    expect(box.openJson(box.sealJson({ Authorization: 'Bearer x' }))).toEqual({ Authorization: 'Bearer x' });
  });

  it('never stores the plaintext and uses a fresh IV each time', () => {
    const a = box.seal('Bearer secret123');
    expect(a).not.toContain('secret123');
    expect(a).not.toBe(box.seal('Bearer secret123'));
  });

  it('refuses tampered text and other keys', () => {
    const sealed = box.seal('value');
    const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA');
    expect(() => box.open(tampered)).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow();
  });
});
