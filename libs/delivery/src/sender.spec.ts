import { once } from 'node:events';
import { createServer, IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, createServer as createTcpServer, Server as TcpServer, Socket } from 'node:net';
import { DnsLookupError } from './delivery-resolver';
import { Resolver } from './guarded-connect';
import { classifyAttemptError, parseRetryAfter, RESPONSE_BODY_LIMIT, SendRequest, WebhookSender } from './sender';

interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A loopback receiver that counts every request and every TCP connection it gets. */
class Receiver {
  hits = 0;
  connections = 0;
  readonly received: Received[] = [];
  private readonly servers: Server[] = [];
  port = 0;

  constructor(private readonly handler: (req: IncomingMessage, res: ServerResponse, body: string) => void) {}

  async start(): Promise<this> {
    this.port = await this.listen('127.0.0.1', 0);
    // Also on ::1 with the same port, so an [::1] URL would reach us if the guard let it through.
    await this.listen('::1', this.port).catch(() => undefined);
    return this;
  }

  url(path = '/hook', host = '127.0.0.1'): string {
    return `http://${host}:${this.port}${path}`;
  }

  private async listen(host: string, port: number): Promise<number> {
    const server = createServer((req, res) => {
      this.hits += 1;
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.received.push({ method: req.method, url: req.url, headers: req.headers, body });
        this.handler(req, res, body);
      });
    });
    server.on('connection', () => {
      this.connections += 1;
    });
    server.listen(port, host);
    await once(server, 'listening');
    this.servers.push(server);
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(async (server) => {
        const closed = once(server, 'close');
        server.close();
        server.closeAllConnections();
        await closed;
      }),
    );
  }
}

const ok = (_req: IncomingMessage, res: ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end('thanks');
};

/** Answers every connection's first bytes with `respond`: for answers no HTTP server would write. */
async function rawServer(respond: (socket: Socket) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.once('data', () => respond(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What PostgreSQL `text` and a reader need: no NUL, no lone surrogate. */
function expectLoggable(text: string | null): void {
  expect(text).not.toBeNull();
  expect(text).not.toContain('\u0000');
  expect(LONE_SURROGATE.test(text ?? '')).toBe(false);
}

function request(url: string, overrides: Partial<SendRequest> = {}): SendRequest {
  return { url, body: '{"type":"ping"}', headers: {}, timeoutMs: 5_000, ...overrides };
}

/** Points the given names at fixed answers, so no test depends on (or leaks queries to) real DNS. */
function fakeResolver(answers: Record<string, string[]>): Resolver {
  return async (hostname) => {
    const addresses = answers[hostname];
    if (addresses === undefined) {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    }
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

describe('WebhookSender', () => {
  const receivers: Receiver[] = [];
  const senders: WebhookSender[] = [];

  async function receiver(handler = ok): Promise<Receiver> {
    const started = await new Receiver(handler).start();
    receivers.push(started);
    return started;
  }

  function sender(allowPrivateNetworks: boolean, resolver?: Resolver): WebhookSender {
    const created = new WebhookSender({ allowPrivateNetworks, userAgent: 'Pollarix-Webhooks/test', resolver });
    senders.push(created);
    return created;
  }

  afterEach(async () => {
    await Promise.all(senders.splice(0).map((s) => s.close()));
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  describe('responses', () => {
    it('POSTs the body and reports a 2xx as ok with the response body', async () => {
      const target = await receiver();
      const result = await sender(true).send(request(target.url('/hook?x=1')));
      expect(result).toMatchObject({
        ok: true,
        statusCode: 200,
        responseBody: 'thanks',
        responseBodyTruncated: false,
        responseContentType: 'text/plain',
        error: null,
        errorMessage: null,
        retryAfterMs: null,
      });
      expect(target.received).toEqual([expect.objectContaining({ method: 'POST', url: '/hook?x=1', body: '{"type":"ping"}' })]);
    });

    it("reports the attempt's duration, the receiver's wait included", async () => {
      const WAIT_MS = 150;
      const target = await receiver((req, res) => setTimeout(() => ok(req, res), WAIT_MS));
      const result = await sender(true).send(request(target.url()));
      expect(result.ok).toBe(true);
      // Rounded to the millisecond, and a timer may fire up to 1 ms before its time by a different clock.
      expect(result.durationMs).toBeGreaterThanOrEqual(WAIT_MS - 2);
    });

    it('sends content-type, user-agent and the custom headers, ours winning over a caller spelling', async () => {
      const target = await receiver();
      await sender(true).send(
        request(target.url(), {
          headers: { 'X-Custom': 'custom-value', 'webhook-id': 'msg_1', 'Content-Type': 'text/plain' },
        }),
      );
      const { headers } = target.received[0];
      expect(headers['content-type']).toBe('application/json');
      expect(headers['user-agent']).toBe('Pollarix-Webhooks/test');
      expect(headers['x-custom']).toBe('custom-value');
      expect(headers['webhook-id']).toBe('msg_1');
      expect(headers['content-length']).toBe(String(Buffer.byteLength('{"type":"ping"}')));
    });

    it('leaves out stored headers that cannot be sent, in any case, and still delivers', async () => {
      const target = await receiver();
      const forbidden = {
        Expect: '100-continue',
        UPGRADE: 'websocket',
        'Keep-Alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        Connection: 'close, x-custom',
        'Content-Length': '1',
        Host: 'internal.example',
        TE: 'trailers',
        Trailer: 'x-sum',
        'Proxy-Authorization': 'Basic eDp5',
        'Bad Name': 'x',
        'X-Newline': 'a\r\nX-Injected: 1',
      };
      const result = await sender(true).send(request(target.url(), { headers: { 'X-Custom': 'kept', ...forbidden } }));
      expect(result).toMatchObject({ ok: true, statusCode: 200, droppedHeaders: Object.keys(forbidden) });
      const { headers } = target.received[0];
      expect(headers['x-custom']).toBe('kept');
      expect(headers.host).toBe(`127.0.0.1:${target.port}`);
      for (const name of ['expect', 'upgrade', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'proxy-authorization', 'x-injected', 'x-newline']) {
        expect([name, headers[name]]).toEqual([name, undefined]);
      }
      expect(target.received[0].body).toBe('{"type":"ping"}');
    });

    it('reports no dropped headers when every custom header is sendable', async () => {
      const target = await receiver();
      const result = await sender(true).send(request(target.url(), { headers: { 'X-Custom': 'kept', Proxy: 'not-a-prefix-match' } }));
      expect(result.ok).toBe(true);
      expect(result).not.toHaveProperty('droppedHeaders');
    });

    it('reports a 500 as a failed attempt with the status and body', async () => {
      const target = await receiver((_req, res) => res.writeHead(500).end('boom'));
      const result = await sender(true).send(request(target.url()));
      expect(result).toMatchObject({ ok: false, statusCode: 500, responseBody: 'boom', error: null, errorMessage: 'HTTP 500' });
      expect(result.responseContentType).toBeNull();
    });

    it('does not follow a redirect', async () => {
      const redirectTarget = await receiver();
      const target = await receiver((_req, res) => res.writeHead(302, { location: redirectTarget.url('/elsewhere') }).end());
      const result = await sender(true).send(request(target.url()));
      expect(result).toMatchObject({ ok: false, statusCode: 302, error: null, errorMessage: 'HTTP 302' });
      expect(target.hits).toBe(1);
      expect(redirectTarget.hits).toBe(0);
    });

    it('keeps the first 20 KiB of a larger body and marks it truncated', async () => {
      const target = await receiver((_req, res) => res.writeHead(200).end('a'.repeat(RESPONSE_BODY_LIMIT) + 'b'.repeat(100 * 1024)));
      const result = await sender(true).send(request(target.url()));
      expect(result.ok).toBe(true);
      expect(result.responseBody).toBe('a'.repeat(RESPONSE_BODY_LIMIT));
      expect(result.responseBodyTruncated).toBe(true);
    });

    it('stops reading an endless body after 20 KiB', async () => {
      const target = await receiver((_req, res) => {
        res.writeHead(200);
        const chunk = 'x'.repeat(4096);
        // Writes forever (until the client goes away); only a reader that stops can finish.
        const pump = (): void => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
      });
      const result = await sender(true).send(request(target.url()));
      expect(result).toMatchObject({ ok: true, statusCode: 200, responseBodyTruncated: true, error: null });
      expect(result.responseBody).toHaveLength(RESPONSE_BODY_LIMIT);
    });

    it('does not mark a body of exactly 20 KiB as truncated', async () => {
      const target = await receiver((_req, res) => res.writeHead(200).end('c'.repeat(RESPONSE_BODY_LIMIT)));
      const result = await sender(true).send(request(target.url()));
      expect(result.responseBody).toHaveLength(RESPONSE_BODY_LIMIT);
      expect(result.responseBodyTruncated).toBe(false);
    });

    it('reuses pooled keep-alive connections across sends', async () => {
      const target = await receiver();
      const client = sender(true);
      for (let i = 0; i < 10; i += 1) {
        expect((await client.send(request(target.url()))).ok).toBe(true);
      }
      expect(target.hits).toBe(10);
      // undici frees a connection just after the response promise settles, so back-to-back sends may open a second one.
      expect(target.connections).toBeLessThanOrEqual(2);
    });

    it.each([
      [503, '120', 120_000],
      [429, '0', 0],
      [500, '120', null],
      [200, '120', null],
    ])('reads Retry-After on 429/503 only (status %i, value %s)', async (status, value, expected) => {
      const target = await receiver((_req, res) => res.writeHead(status, { 'retry-after': value }).end());
      const result = await sender(true).send(request(target.url()));
      expect(result.statusCode).toBe(status);
      expect(result.retryAfterMs).toBe(expected);
    });

    it('reads an HTTP-date Retry-After relative to now', async () => {
      const at = new Date(Date.now() + 3_600_000).toUTCString();
      const target = await receiver((_req, res) => res.writeHead(429, { 'retry-after': at }).end());
      const result = await sender(true).send(request(target.url()));
      expect(result.retryAfterMs).toBeGreaterThan(3_590_000);
      expect(result.retryAfterMs).toBeLessThanOrEqual(3_600_000);
    });
  });

  describe('hostile receivers: whatever they answer is loggable', () => {
    const raws: Array<{ close: () => Promise<void> }> = [];

    async function raw(respond: (socket: Socket) => void): Promise<number> {
      const server = await rawServer(respond);
      raws.push(server);
      return server.port;
    }

    afterEach(async () => {
      await Promise.all(raws.splice(0).map((server) => server.close()));
    });

    it('escapes NUL bytes in the body', async () => {
      const target = await receiver((_req, res) => res.writeHead(200).end(Buffer.from([0x61, 0x00, 0x00, 0x62, 0x00])));
      const result = await sender(true).send(request(target.url()));
      expect(result).toMatchObject({ ok: true, statusCode: 200, responseBody: 'a\\u0000\\u0000b\\u0000' });
      expectLoggable(result.responseBody);
    });

    it('replaces invalid UTF-8 (stray bytes, a truncated 3-byte sequence) with U+FFFD', async () => {
      // 0xff 0xfe never occur in UTF-8; e2 82 is "€" (e2 82 ac) missing its last byte.
      const body = Buffer.from([0x6f, 0x6b, 0xff, 0xfe, 0x20, 0xe2, 0x82, 0x21, 0x20, 0xe2, 0x82]);
      const target = await receiver((_req, res) => res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' }).end(body));
      const result = await sender(true).send(request(target.url()));
      expect(result).toMatchObject({ statusCode: 502, responseBody: 'ok\ufffd\ufffd \ufffd! \ufffd', responseContentType: 'text/plain; charset=utf-8' });
      expectLoggable(result.responseBody);
    });

    it('keeps a binary body as loggable text and reports its content-type', async () => {
      const png = Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52]),
        Buffer.from(Array.from({ length: 4096 }, (_unused, i) => (i * 37) % 256)),
      ]);
      const target = await receiver((_req, res) => res.writeHead(200, { 'content-type': '  image/png ' }).end(png));
      const result = await sender(true).send(request(target.url()));
      expect(result).toMatchObject({ ok: true, statusCode: 200, responseContentType: 'image/png', responseBodyTruncated: false });
      // 0x89 is not UTF-8, \r \n stay, 0x1a and NUL are escaped; the rest is whatever the bytes decode to.
      expect(result.responseBody.startsWith('\ufffdPNG\r\n\\u001a\n\\u0000\\u0000\\u0000\rIHDR\\u0000')).toBe(true);
      expectLoggable(result.responseBody);
    });

    it('keeps 20 KiB of a 5 MiB body as valid text, a character cut at the limit becoming U+FFFD', async () => {
      // "a" then 2-byte characters: byte 20480 is the first half of an "é".
      const body = Buffer.from(`a${'é'.repeat((5 * 1024 * 1024) / 2)}`, 'utf8');
      const target = await receiver((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(body));
      const result = await sender(true).send(request(target.url()));
      expect(result).toMatchObject({ ok: true, statusCode: 200, responseBodyTruncated: true });
      expect(result.responseBody).toBe(`a${'é'.repeat((RESPONSE_BODY_LIMIT - 2) / 2)}\ufffd`);
      expectLoggable(result.responseBody);
    });

    it('caps a long content-type at 255 characters, as valid text', async () => {
      // 0xff is legal obs-text in a header value, and is not UTF-8.
      const header = Buffer.concat([Buffer.from('content-type: text/'), Buffer.from([0xff]), Buffer.from('x'.repeat(400))]);
      const port = await raw((socket) => socket.end(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n'), header, Buffer.from('\r\ncontent-length: 2\r\n\r\nok')])));
      const result = await sender(true).send(request(`http://127.0.0.1:${port}/`));
      expect(result).toMatchObject({ ok: true, statusCode: 200, responseBody: 'ok' });
      expect(result.responseContentType).toHaveLength(255);
      expect(result.responseContentType).toMatch(/^text\/.xxx/);
      expectLoggable(result.responseContentType);
    });

    it('reports invalid_response for a control character in a header', async () => {
      const port = await raw((socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/\x00plain\r\ncontent-length: 2\r\n\r\nok'));
      const result = await sender(true).send(request(`http://127.0.0.1:${port}/`));
      expect(result).toMatchObject({ ok: false, statusCode: null, error: 'invalid_response' });
      expectLoggable(result.errorMessage);
    });

    it('reports invalid_response when the receiver answers something that is not HTTP', async () => {
      const port = await raw((socket) => socket.end(Buffer.from('\x00\x01garbage\r\n\r\n', 'latin1')));
      const result = await sender(true).send(request(`http://127.0.0.1:${port}/`));
      expect(result).toMatchObject({ ok: false, statusCode: null, error: 'invalid_response' });
      expectLoggable(result.errorMessage);
    });

    it.each([
      ['reset (RST)', 'keep-alive', (socket: Socket) => socket.resetAndDestroy()],
      ['closed (FIN)', 'keep-alive', (socket: Socket) => socket.end()],
      ['closed (FIN)', 'close', (socket: Socket) => socket.end()],
    ])('reports connection_reset when the connection is %s mid-body (connection: %s), keeping what arrived', async (_how, connection, finish) => {
      const port = await raw((socket) => {
        socket.write(`HTTP/1.1 200 OK\r\nconnection: ${connection}\r\ncontent-type: text/plain\r\ncontent-length: 1000\r\n\r\npartial\x00`);
        // Later, not at once: an RST makes the client's kernel drop bytes not yet read. 200 ms is the
        // receiver's behaviour (ample on loopback), not a wait of the test for a result.
        setTimeout(() => finish(socket), 200);
      });
      const result = await sender(true).send(request(`http://127.0.0.1:${port}/`));
      expect(result).toMatchObject({ ok: false, statusCode: 200, error: 'connection_reset', responseContentType: 'text/plain' });
      expect(result.responseBody).toBe('partial\\u0000');
    });
  });

  describe('failures without a response', () => {
    it('times out a receiver that never answers, within the timeout plus a small margin', async () => {
      const target = await receiver(() => undefined);
      const started = Date.now();
      const result = await sender(true).send(request(target.url(), { timeoutMs: 300 }));
      const elapsed = Date.now() - started;
      expect(result).toMatchObject({ ok: false, statusCode: null, error: 'timeout' });
      expect(result.errorMessage).toBe('Timed out after 300 ms');
      expect(target.hits).toBe(1);
      expect(elapsed).toBeGreaterThanOrEqual(290);
      // Generous for a busy machine: without our timeout, undici's own (300 s) would apply.
      expect(elapsed).toBeLessThan(5_000);
    });

    it('times out a 200 whose body never finishes, and does not count it as a success', async () => {
      const target = await receiver((_req, res) => {
        res.writeHead(200);
        res.write('partial');
      });
      const result = await sender(true).send(request(target.url(), { timeoutMs: 300 }));
      expect(result).toMatchObject({ ok: false, statusCode: 200, error: 'timeout', responseBody: 'partial' });
      expect(result.durationMs).toBeGreaterThanOrEqual(290);
      expect(result.durationMs).toBeLessThan(5_000); // undici's body timeout (300 s) otherwise
    });

    it('times out while name resolution hangs', async () => {
      let release: (error: Error) => void = () => undefined;
      const hanging: Resolver = () => new Promise((_resolve, reject) => (release = reject));
      const result = await sender(true, hanging).send(request('http://receiver.test/', { timeoutMs: 300 }));
      expect(result).toMatchObject({ statusCode: null, error: 'timeout', errorMessage: 'Timed out after 300 ms' });
      expect(result.durationMs).toBeGreaterThanOrEqual(290);
      expect(result.durationMs).toBeLessThan(5_000); // the resolver never settles by itself
      // Let the abandoned connect fail now rather than at undici's connect timeout, so close() is quick.
      release(Object.assign(new Error('released'), { code: 'EAI_AGAIN' }));
    });

    it('reports connection_refused for a closed port', async () => {
      const target = await receiver();
      const port = target.port;
      await target.close();
      const result = await sender(true).send(request(`http://127.0.0.1:${port}/`));
      expect(result).toMatchObject({ ok: false, statusCode: null, error: 'connection_refused' });
      expect(result.errorMessage).toContain('ECONNREFUSED');
    });

    it('reports connection_reset when the receiver drops the connection', async () => {
      const target = await receiver((req) => req.socket.destroy());
      const result = await sender(true).send(request(target.url()));
      expect(result).toMatchObject({ ok: false, statusCode: null, error: 'connection_reset' });
    });

    it('reports tls when https meets a plain-http server', async () => {
      const target = await receiver();
      const result = await sender(true).send(request(`https://127.0.0.1:${target.port}/`));
      expect(result).toMatchObject({ ok: false, statusCode: null, error: 'tls' });
    });

    it('reports dns when a name does not resolve', async () => {
      const result = await sender(true, fakeResolver({})).send(request('http://nowhere.test/'));
      expect(result).toMatchObject({ ok: false, statusCode: null, error: 'dns' });
      expect(result.errorMessage).toContain('ENOTFOUND');
    });

    it.each(['not a url', 'ftp://example.com/', 'file:///etc/passwd', 'javascript:alert(1)'])('reports invalid_url for %s', async (url) => {
      const result = await sender(true).send(request(url));
      expect(result).toMatchObject({ ok: false, statusCode: null, error: 'invalid_url' });
    });

    it('never puts header values into the error message', async () => {
      const secret = 'Bearer s3cr3t-token-value';
      const leaky: Resolver = async () => {
        throw Object.assign(new Error(`resolver failed for ${secret}`), { code: 'EAI_AGAIN' });
      };
      const result = await sender(true, leaky).send(request('http://receiver.test/', { headers: { authorization: secret } }));
      expect(result.error).toBe('dns');
      expect(result.errorMessage).not.toContain(secret);
      expect(result.errorMessage).toContain('[redacted]');
    });
  });

  describe('destinations (SPEC §8)', () => {
    const loopbackForms = (port: number): string[] => [
      `http://127.0.0.1:${port}/`,
      `http://[::1]:${port}/`,
      `http://[::ffff:127.0.0.1]:${port}/`,
      `http://0.0.0.0:${port}/`,
      `http://2130706433:${port}/`,
      `http://localhost:${port}/`,
    ];

    it('refuses loopback in every form without the receiver seeing anything', async () => {
      const target = await receiver();
      const client = sender(false);
      for (const url of loopbackForms(target.port)) {
        const result = await client.send(request(url));
        expect({ url, ...result }).toMatchObject({ url, ok: false, statusCode: null, error: 'blocked_destination' });
        expect(result.blockedReason).toBeDefined();
      }
      expect(target.hits).toBe(0);
      expect(target.connections).toBe(0);
    });

    it('reaches the same receiver through those forms when private networks are allowed', async () => {
      const target = await receiver();
      const client = sender(true);
      for (const url of loopbackForms(target.port)) {
        expect({ url, ...(await client.send(request(url))) }).toMatchObject({ url, ok: true, statusCode: 200 });
      }
      expect(target.hits).toBe(loopbackForms(target.port).length);
    });

    it.each([
      ['http://169.254.169.254/latest/meta-data/', 'metadata'],
      ['http://10.0.0.1/hook', 'private'],
      ['http://[fd00:ec2::254]/', 'metadata'],
      ['http://[64:ff9b::a9fe:a9fe]/', 'metadata'],
      ['http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', 'reserved'],
      ['http://[64:ff9b:1::808:808]/', 'reserved'],
    ])('refuses %s before connecting (%s)', async (url, reason) => {
      // Only ever run with the guard on: these addresses must never actually be contacted.
      const result = await sender(false).send(request(url, { timeoutMs: 30_000 }));
      expect(result).toMatchObject({
        ok: false,
        statusCode: null,
        error: 'blocked_destination',
        blockedReason: reason,
        errorMessage: 'The destination resolves to an address that is not allowed',
      });
      expect(result.blockedAddress).toBe(new URL(url).hostname.replace(/^\[|\]$/g, ''));
      // A connection attempt to these (unroutable here) addresses would wait for the 30 s timeout; the
      // bound is generous for a busy machine and still far from that.
      expect(result.durationMs).toBeLessThan(5_000);
    });

    it('refuses a name that resolves to loopback, checking the resolved address', async () => {
      const target = await receiver();
      const result = await sender(false, fakeResolver({ 'receiver.test': ['127.0.0.1'] })).send(request(`http://receiver.test:${target.port}/`));
      expect(result).toMatchObject({ error: 'blocked_destination', blockedReason: 'loopback', blockedAddress: '127.0.0.1' });
      // Customers read the message: it says what happened, not which internal address the name has.
      expect(result.errorMessage).toBe('The destination resolves to an address that is not allowed');
      expect(target.hits).toBe(0);
    });

    it('refuses a name when any of its answers is blocked, even next to a public one', async () => {
      const target = await receiver();
      const resolver = fakeResolver({ 'mixed.test': ['93.184.216.34', '::ffff:127.0.0.1'] });
      const result = await sender(false, resolver).send(request(`http://mixed.test:${target.port}/`));
      expect(result).toMatchObject({ error: 'blocked_destination', blockedReason: 'loopback', blockedAddress: '::ffff:127.0.0.1' });
      expect(result.errorMessage).not.toMatch(/127\.0\.0\.1|::ffff|93\.184/);
      expect(target.hits).toBe(0);
    });

    it('connects to the address the checked lookup returned (pinned, not re-resolved)', async () => {
      const target = await receiver();
      // `receiver.test` exists only in this resolver, so reaching the receiver proves its answer was used.
      const result = await sender(true, fakeResolver({ 'receiver.test': ['127.0.0.1'] })).send(request(`http://receiver.test:${target.port}/hook`));
      expect(result).toMatchObject({ ok: true, statusCode: 200 });
      expect(target.received[0].headers.host).toBe(`receiver.test:${target.port}`);
    });
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2025-01-01T00:00:00Z');

  it.each([
    ['0', 0],
    ['120', 120_000],
    [' 30 ', 30_000],
    ['Wed, 01 Jan 2025 00:02:00 GMT', 120_000],
    ['Wednesday, 01-Jan-25 00:00:30 GMT', 30_000],
    ['Tue, 31 Dec 2024 23:00:00 GMT', 0],
    ['', null],
    ['soon', null],
    ['-5', null],
    ['1.5', null],
    ['12abc', null],
  ])('%p → %p', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe('classifyAttemptError', () => {
  const withCode = (code: string, message = code): Error => Object.assign(new Error(message), { code });

  it.each([
    ['ENOTFOUND', 'dns'],
    ['EAI_AGAIN', 'dns'],
    ['ECONNREFUSED', 'connection_refused'],
    ['ECONNRESET', 'connection_reset'],
    ['EPIPE', 'connection_reset'],
    ['UND_ERR_SOCKET', 'connection_reset'],
    ['UND_ERR_CONNECT_TIMEOUT', 'timeout'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ['CERT_HAS_EXPIRED', 'tls'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls'],
    ['ERR_INVALID_URL', 'invalid_url'],
    ['HPE_INVALID_CONSTANT', 'invalid_response'],
    ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'connection_reset'],
    ['ETIMEOUT', 'dns'],
    ['ESERVFAIL', 'dns'],
    ['ENODATA', 'dns'],
    ['EHOSTUNREACH', 'network'],
  ])('%s → %s', (code, expected) => {
    expect(classifyAttemptError(withCode(code))).toBe(expected);
  });

  it('looks through cause chains and AggregateErrors', () => {
    expect(classifyAttemptError(new TypeError('fetch failed', { cause: withCode('ECONNREFUSED') }))).toBe('connection_refused');
    expect(classifyAttemptError(new AggregateError([new Error('x'), withCode('ECONNREFUSED')]))).toBe('connection_refused');
  });

  it('recognises undici parser errors without a code', () => {
    const parserError = Object.assign(new Error('Response does not match the HTTP/1.1 protocol (Expected HTTP/)'), { name: 'HTTPParserError' });
    expect(classifyAttemptError(parserError)).toBe('invalid_response');
  });

  it('maps a resolver failure to dns even when c-ares says ECONNREFUSED (the nameserver refused, not the receiver)', () => {
    const cause = Object.assign(new Error('queryA ECONNREFUSED receiver.test'), { code: 'ECONNREFUSED' });
    expect(classifyAttemptError(new DnsLookupError('EAI_AGAIN', 'receiver.test', cause))).toBe('dns');
  });

  it('treats aborts as timeouts and unknown things as network errors', () => {
    expect(classifyAttemptError(new DOMException('The operation was aborted', 'AbortError'))).toBe('timeout');
    expect(classifyAttemptError('weird')).toBe('network');
  });
});
