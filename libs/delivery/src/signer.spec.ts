import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { generateSecret, signatureHeader, signingHeaders } from './signer';

describe('generateSecret', () => {
  it('is whsec_ followed by base64 of 32 random bytes', () => {
    const secret = generateSecret();
    expect(secret.startsWith('whsec_')).toBe(true);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(generateSecret()).not.toBe(secret);
  });
});

describe('signatureHeader', () => {
  it('is v1,<base64 HMAC-SHA256(key, "id.timestamp.body")> with the base64-decoded key', () => {
    const key = Buffer.alloc(32, 7);
    const expected = createHmac('sha256', key).update('msg_1.1700000000.{"a":1}').digest('base64');
    expect(signatureHeader([`whsec_${key.toString('base64')}`], 'msg_1', 1700000000, '{"a":1}')).toBe(`v1,${expected}`);
  });

  it('lists one signature per secret, space-separated, in order', () => {
    const [a, b] = [generateSecret(), generateSecret()];
    const both = signatureHeader([a, b], 'msg_1', 1700000000, '{}');
    expect(both.split(' ')).toEqual([signatureHeader([a], 'msg_1', 1700000000, '{}'), signatureHeader([b], 'msg_1', 1700000000, '{}')]);
  });

  it('refuses to sign without a secret', () => {
    expect(() => signatureHeader([], 'msg_1', 1700000000, '{}')).toThrow();
  });
});

describe('signingHeaders, checked by the standardwebhooks reference verifier', () => {
  const body = JSON.stringify({ type: 'survey.response.created', data: { id: 'r_1', text: 'naïve ✓' } });

  it('verifies with the secret', () => {
    const secret = generateSecret();
    const headers = signingHeaders([secret], 'msg_2abc', body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('uses unix seconds of the given time', () => {
    const headers = signingHeaders([generateSecret()], 'msg_1', body, new Date('2024-01-02T03:04:05.678Z'));
    expect(headers['webhook-id']).toBe('msg_1');
    expect(headers['webhook-timestamp']).toBe('1704164645');
  });

  it('verifies with either secret during a rotation', () => {
    const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
    const headers = signingHeaders([newSecret, oldSecret], 'msg_rot', body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(oldSecret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(newSecret).verify(body, headers)).not.toThrow();
  });

  it('fails with a wrong secret', () => {
    const headers = signingHeaders([generateSecret()], 'msg_1', body);
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow();
  });

  it('fails when the body is altered', () => {
    const secret = generateSecret();
    const headers = signingHeaders([secret], 'msg_1', body);
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
  });

  it('is rejected by verifiers when the timestamp is too old', () => {
    const secret = generateSecret();
    const headers = signingHeaders([secret], 'msg_1', body, new Date(Date.now() - 10 * 60 * 1000));
    expect(() => new Webhook(secret).verify(body, headers)).toThrow();
  });
});
