import fc from 'fast-check';
import { createRequire } from 'node:module';
import { isReservedHeader, isTransportHeader, sendableHeaders } from './custom-headers';

type DispatchRequest = new (origin: string, options: { path: string; method: string; headers: Record<string, string>; body: string }, handler: object) => object;
// undici's own request builder, as Agent.request runs it (its public fetch Request checks headers differently).
const UndiciRequest = createRequire(__filename)('undici/lib/core/request.js') as DispatchRequest;
const handler = { onConnect() {}, onHeaders() {}, onData() {}, onComplete() {}, onError() {} };

const TRANSPORT = ['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'expect', 'te', 'trailer', 'http2-settings'];
const PROXY = ['proxy-authorization', 'proxy-connection', 'proxy-authenticate', 'proxy-x'];
const SERVICE = ['content-type', 'user-agent', 'webhook-id', 'webhook-signature', 'webhook-timestamp', 'webhook-anything'];
const ALLOWED = ['authorization', 'x-api-key', 'x-custom', 'accept', 'proxy', 'tee', 'expected', 'hosting', 'x-webhook-id', 'x-proxy-id', 'content-language'];

/** Every upper/lower-case spelling of a name is one arbitrary. */
const anyCase = (name: string): fc.Arbitrary<string> =>
  fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map((upper) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));

describe('custom header rules', () => {
  it.each([...TRANSPORT, ...PROXY])('%s is a transport header, reserved and never sent, in any case', (name) => {
    fc.assert(
      fc.property(anyCase(name), (spelling) => {
        expect([isTransportHeader(spelling), isReservedHeader(spelling)]).toEqual([true, true]);
        expect(sendableHeaders({ [spelling]: 'x' })).toEqual({ headers: {}, dropped: [spelling] });
      }),
    );
  });

  it.each(SERVICE)('%s is reserved for the service (the sender sets it) but not a transport header', (name) => {
    fc.assert(fc.property(anyCase(name), (spelling) => expect([isReservedHeader(spelling), isTransportHeader(spelling)]).toEqual([true, false])));
  });

  it.each(ALLOWED)('%s is a customer header', (name) => {
    expect([isReservedHeader(name), isTransportHeader(name)]).toEqual([false, false]);
    expect(sendableHeaders({ [name]: 'value' })).toEqual({ headers: { [name]: 'value' }, dropped: [] });
  });

  it('is needed: undici refuses the headers that would otherwise fail every attempt', () => {
    for (const [name, value] of [
      ['expect', '100-continue'],
      ['upgrade', 'h2c'],
      ['keep-alive', '5'],
      ['transfer-encoding', 'chunked'],
      ['content-length', 'x'],
      ['x-a', 'a\nb'],
    ]) {
      expect(() => new UndiciRequest('http://receiver.test', { path: '/', method: 'POST', headers: { [name]: value }, body: '{}' }, handler)).toThrow();
    }
  });

  it('drops names and values undici would refuse, keeping the rest in order', () => {
    const result = sendableHeaders({ 'X-A': 'a', 'bad name': 'x', 'X-B': 'line\r\nX-Evil: 1', 'X-Nul': 'a\u0000b', 'X-C': 'c', 'x-é': 'e' });
    expect(result).toEqual({ headers: { 'X-A': 'a', 'X-C': 'c' }, dropped: ['bad name', 'X-B', 'X-Nul', 'x-é'] });
  });

  // The reason the list exists: whatever passes it, undici builds a request with; whatever it refuses to
  // build would fail every attempt. Checked against undici itself rather than our reading of its source.
  it('keeps only headers undici accepts on a request', () => {
    const header = fc.tuple(
      fc.oneof(fc.constantFrom(...TRANSPORT, ...PROXY, ...ALLOWED), fc.string({ minLength: 1, maxLength: 12 })),
      fc.oneof(fc.constantFrom('ok', 'chunked', '100-continue', 'close', 'a\nb'), fc.string({ maxLength: 12 })),
    );
    fc.assert(
      fc.property(header, ([name, value]) => {
        const { headers } = sendableHeaders({ [name]: value });
        if (Object.keys(headers).length === 0) return;
        expect(() => new UndiciRequest('http://receiver.test', { path: '/', method: 'POST', headers, body: '{}' }, handler)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });
});
