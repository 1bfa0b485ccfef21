import { createSocket, RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo, isIPv4 } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DeliveryResolver, DeliveryResolverOptions, DnsLookupError, isLocalhostName, parseHosts } from './delivery-resolver';
import { WebhookSender } from './sender';

interface Zone {
  a?: string[];
  aaaa?: string[];
  ttl?: number;
}

interface Query {
  name: string;
  type: 'A' | 'AAAA' | number;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;

function ipv6Bytes(address: string): Buffer {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2));
  return bytes;
}

/**
 * A UDP nameserver on 127.0.0.1 that knows a few names (A/AAAA answers with a TTL), says NXDOMAIN
 * for other names, and never answers names under `silent`. It records every question it gets.
 */
class FakeNameserver {
  readonly queries: Query[] = [];
  private socket: UdpSocket | undefined;
  port = 0;

  constructor(
    private readonly zones: Record<string, Zone>,
    private readonly silent: string[] = [],
    /** Names whose AAAA queries get no answer at all (networks that drop them), while A is answered. */
    private readonly dropAaaa: string[] = [],
  ) {}

  async start(): Promise<this> {
    const socket = createSocket('udp4');
    socket.on('message', (message: Buffer, peer: RemoteInfo) => this.answer(socket, message, peer));
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    this.socket = socket;
    this.port = socket.address().port;
    return this;
  }

  get server(): string {
    return `127.0.0.1:${this.port}`;
  }

  count(name: string, type?: 'A' | 'AAAA'): number {
    return this.queries.filter((query) => query.name === name && (type === undefined || query.type === type)).length;
  }

  async close(): Promise<void> {
    const socket = this.socket;
    if (socket === undefined) return;
    socket.close();
    await once(socket, 'close');
  }

  private answer(socket: UdpSocket, message: Buffer, peer: RemoteInfo): void {
    const labels: string[] = [];
    let offset = 12;
    while (message[offset] !== 0) {
      const length = message[offset];
      labels.push(message.toString('latin1', offset + 1, offset + 1 + length));
      offset += 1 + length;
    }
    offset += 1;
    const type = message.readUInt16BE(offset);
    const questionEnd = offset + 4;
    const name = labels.join('.').toLowerCase();
    this.queries.push({ name, type: type === TYPE_A ? 'A' : type === TYPE_AAAA ? 'AAAA' : type });
    if (this.silent.some((root) => name === root || name.endsWith(`.${root}`))) return;
    if (type === TYPE_AAAA && this.dropAaaa.includes(name)) return;

    const zone = this.zones[name];
    const addresses = zone === undefined ? [] : type === TYPE_A ? (zone.a ?? []) : type === TYPE_AAAA ? (zone.aaaa ?? []) : [];
    const header = Buffer.alloc(12);
    header.writeUInt16BE(message.readUInt16BE(0), 0);
    // QR, the query's RD, RA; rcode 3 (NXDOMAIN) for unknown names, else 0 (an empty answer is NODATA).
    header.writeUInt16BE(0x8080 | ((message[2] & 0x01) << 8) | (zone === undefined ? 3 : 0), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(addresses.length, 6);
    const records = addresses.map((address) => {
      const data = isIPv4(address) ? Buffer.from(address.split('.').map(Number)) : ipv6Bytes(address);
      const record = Buffer.alloc(12);
      record.writeUInt16BE(0xc00c, 0); // a pointer to the question's name
      record.writeUInt16BE(type, 2);
      record.writeUInt16BE(1, 4); // class IN
      record.writeUInt32BE(zone?.ttl ?? 300, 6);
      record.writeUInt16BE(data.length, 10);
      return Buffer.concat([record, data]);
    });
    socket.send(Buffer.concat([header, message.subarray(12, questionEnd), ...records]), peer.port, peer.address);
  }
}

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('parseHosts', () => {
  it('maps every name of a line to its address, skipping comments and junk', () => {
    const table = parseHosts(
      [
        '# comment line',
        '127.0.0.1\tlocalhost  Intranet.Test   # trailing comment',
        '::1 localhost ip6-localhost',
        '',
        'not-an-ip some.name',
        '10.0.0.1',
        '   192.0.2.7 absolute.test.   ',
        '127.0.0.1 localhost',
      ].join('\n'),
    );
    expect(table.get('localhost')).toEqual([
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
    expect(table.get('intranet.test')).toEqual([{ address: '127.0.0.1', family: 4 }]);
    expect(table.get('ip6-localhost')).toEqual([{ address: '::1', family: 6 }]);
    expect(table.get('absolute.test')).toEqual([{ address: '192.0.2.7', family: 4 }]);
    expect(table.has('some.name')).toBe(false);
    expect(table.size).toBe(4);
  });

  it('reads CRLF files and an empty file', () => {
    expect(parseHosts('127.0.0.2 a.test\r\n127.0.0.3 b.test\r\n').get('b.test')).toEqual([{ address: '127.0.0.3', family: 4 }]);
    expect(parseHosts('').size).toBe(0);
  });
});

describe('isLocalhostName', () => {
  it.each([
    ['localhost', true],
    ['api.localhost', true],
    ['localhost.example.com', false],
    ['notlocalhost', false],
  ])('%s → %s', (name, expected) => {
    expect(isLocalhostName(name)).toBe(expected);
  });
});

describe('DeliveryResolver', () => {
  let nameserver: FakeNameserver;
  let hostsDir: string;
  let hostsPath: string;

  beforeEach(async () => {
    nameserver = await new FakeNameserver(
      {
        'ok.test': { a: ['127.0.0.1'], aaaa: ['::1'], ttl: 300 },
        'v4only.test': { a: ['127.0.0.2'], ttl: 300 },
        'zero.test': { a: ['127.0.0.3'], ttl: 0 },
        'a.test': { a: ['127.0.0.4'] },
        'b.test': { a: ['127.0.0.5'] },
        'c.test': { a: ['127.0.0.6'] },
        'noaaaa.test': { a: ['127.0.0.7'], ttl: 300 },
      },
      ['hang.test'],
      ['noaaaa.test'],
    ).start();
    hostsDir = mkdtempSync(join(tmpdir(), 'pollarix-hosts-'));
    hostsPath = join(hostsDir, 'hosts');
    writeFileSync(hostsPath, '127.0.0.1 localhost\n127.0.0.9 intranet.test\n');
  });

  afterEach(async () => {
    await nameserver.close();
    rmSync(hostsDir, { recursive: true, force: true });
  });

  function resolver(options: DeliveryResolverOptions = {}): DeliveryResolver {
    return new DeliveryResolver({ servers: [nameserver.server], hostsPath, timeoutMs: 200, tries: 1, ...options });
  }

  it('asks A and AAAA and returns both, IPv4 first', async () => {
    const addresses = await resolver().resolve('ok.test', {});
    expect(addresses).toEqual([
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
    expect(nameserver.count('ok.test', 'A')).toBe(1);
    expect(nameserver.count('ok.test', 'AAAA')).toBe(1);
  });

  it('asks only for the family requested', async () => {
    const subject = resolver();
    expect(await subject.resolve('ok.test', { family: 6 })).toEqual([{ address: '::1', family: 6 }]);
    expect(nameserver.count('ok.test', 'A')).toBe(0);
    expect(await subject.resolve('ok.test', { family: 4 })).toEqual([{ address: '127.0.0.1', family: 4 }]);
    expect(nameserver.count('ok.test', 'AAAA')).toBe(1);
  });

  it('answers a name with only A records (AAAA is NODATA)', async () => {
    expect(await resolver().resolve('v4only.test', {})).toEqual([{ address: '127.0.0.2', family: 4 }]);
  });

  it('answers with A soon after it arrives when AAAA queries go unanswered, instead of waiting out the DNS timeout', async () => {
    const subject = resolver({ timeoutMs: 2_000, tries: 2 });
    const started = performance.now();
    expect(await subject.resolve('noaaaa.test', {})).toEqual([{ address: '127.0.0.7', family: 4 }]);
    // Without the grace this takes the whole timeout for AAAA (2 s, then a longer second try).
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(nameserver.count('noaaaa.test', 'AAAA')).toBeGreaterThanOrEqual(1);
    const queries = nameserver.queries.length;
    expect(await subject.resolve('noaaaa.test', {})).toEqual([{ address: '127.0.0.7', family: 4 }]);
    expect(nameserver.queries.length).toBe(queries);
    subject.cancel();
  });

  it('answers again from its cache within the TTL, without a query', async () => {
    const subject = resolver();
    await subject.resolve('ok.test', {});
    await subject.resolve('OK.test.', {});
    expect(await subject.resolve('ok.test', {})).toHaveLength(2);
    expect(nameserver.count('ok.test')).toBe(2);
  });

  it('asks again once the (capped) TTL has passed', async () => {
    const subject = resolver({ maxTtlMs: 30 });
    await subject.resolve('ok.test', { family: 4 });
    await waitFor('a second query after the TTL', async () => {
      await subject.resolve('ok.test', { family: 4 });
      return nameserver.count('ok.test', 'A') === 2;
    });
  });

  it('does not cache an answer with TTL 0', async () => {
    const subject = resolver();
    await subject.resolve('zero.test', { family: 4 });
    await subject.resolve('zero.test', { family: 4 });
    expect(nameserver.count('zero.test', 'A')).toBe(2);
  });

  it('shares one query between concurrent lookups of a name', async () => {
    const subject = resolver();
    const answers = await Promise.all(Array.from({ length: 5 }, () => subject.resolve('ok.test', { family: 4 })));
    expect(answers.every((addresses) => addresses[0].address === '127.0.0.1')).toBe(true);
    expect(nameserver.count('ok.test', 'A')).toBe(1);
  });

  it('keeps at most maxEntries names, dropping the least recently used', async () => {
    const subject = resolver({ maxEntries: 2 });
    await subject.resolve('a.test', { family: 4 });
    await subject.resolve('b.test', { family: 4 });
    await subject.resolve('a.test', { family: 4 }); // a is now the most recent
    await subject.resolve('c.test', { family: 4 }); // evicts b
    expect(subject.cachedNames).toBe(2);
    await subject.resolve('a.test', { family: 4 });
    await subject.resolve('b.test', { family: 4 });
    expect([nameserver.count('a.test'), nameserver.count('b.test'), nameserver.count('c.test')]).toEqual([1, 2, 1]);
  });

  it('fails an unknown name with ENOTFOUND, and remembers that briefly', async () => {
    const subject = resolver();
    await expect(subject.resolve('missing.test', {})).rejects.toMatchObject({ name: 'DnsLookupError', code: 'ENOTFOUND' });
    await expect(subject.resolve('missing.test', {})).rejects.toMatchObject({ code: 'ENOTFOUND', message: expect.stringContaining('cached') });
    expect(nameserver.count('missing.test')).toBe(2); // A and AAAA, once
  });

  it('forgets a failure at once with negativeTtlMs 0', async () => {
    const subject = resolver({ negativeTtlMs: 0 });
    await expect(subject.resolve('missing.test', { family: 4 })).rejects.toBeInstanceOf(DnsLookupError);
    await expect(subject.resolve('missing.test', { family: 4 })).rejects.toBeInstanceOf(DnsLookupError);
    expect(nameserver.count('missing.test')).toBe(2);
  });

  it('fails a name whose nameserver never answers with EAI_AGAIN, after its timeout', async () => {
    const started = performance.now();
    const error: unknown = await resolver({ timeoutMs: 100, tries: 2 })
      .resolve('hang.test', {})
      .catch((failure: unknown) => failure);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(DnsLookupError);
    expect(error).toMatchObject({ code: 'EAI_AGAIN', cause: expect.objectContaining({ code: 'ETIMEOUT' }) });
    expect(elapsed).toBeGreaterThanOrEqual(100);
    expect(elapsed).toBeLessThan(5_000);
    expect(nameserver.count('hang.test', 'A')).toBeGreaterThanOrEqual(2); // tried twice
  });

  it('reports an unreachable nameserver as EAI_AGAIN, not as the receiver refusing', async () => {
    const closed = createSocket('udp4');
    closed.bind(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = closed.address().port;
    closed.close();
    await once(closed, 'close');
    const error: unknown = await resolver({ servers: [`127.0.0.1:${port}`] })
      .resolve('ok.test', {})
      .catch((failure: unknown) => failure);
    expect(error).toMatchObject({ name: 'DnsLookupError', code: 'EAI_AGAIN' });
  });

  describe('names answered without a query', () => {
    it('answers IP literals as they are', async () => {
      const subject = resolver();
      expect(await subject.resolve('192.0.2.1', {})).toEqual([{ address: '192.0.2.1', family: 4 }]);
      expect(await subject.resolve('2001:db8::1', {})).toEqual([{ address: '2001:db8::1', family: 6 }]);
      expect(await subject.resolve('[::1]', {})).toEqual([{ address: '::1', family: 6 }]);
      expect(nameserver.queries).toEqual([]);
    });

    it('answers localhost and *.localhost with loopback (RFC 6761)', async () => {
      const subject = resolver();
      const loopback = [
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ];
      expect(await subject.resolve('localhost', {})).toEqual(loopback);
      expect(await subject.resolve('LOCALHOST.', {})).toEqual(loopback);
      expect(await subject.resolve('api.tenant.localhost', {})).toEqual(loopback);
      expect(await subject.resolve('localhost', { family: 4 })).toEqual([loopback[0]]);
      expect(nameserver.queries).toEqual([]);
    });

    it('answers names of the hosts file from it, for a family it lacks too', async () => {
      const subject = resolver();
      expect(await subject.resolve('intranet.test', {})).toEqual([{ address: '127.0.0.9', family: 4 }]);
      await expect(subject.resolve('intranet.test', { family: 6 })).rejects.toMatchObject({ code: 'ENOTFOUND' });
      expect(nameserver.queries).toEqual([]);
    });

    it("answers the machine's own name from the real /etc/hosts when it is there", async () => {
      const name = hostname();
      const hosts = parseHosts(readFileSync('/etc/hosts', 'utf8'));
      if (!hosts.has(name.toLowerCase())) return; // nothing to show on a machine whose hosts file lacks it
      const subject = resolver({ hostsPath: '/etc/hosts' });
      expect(await subject.resolve(name, {})).toEqual(hosts.get(name.toLowerCase()));
      expect(nameserver.queries).toEqual([]);
    });

    it('re-reads the hosts file when its mtime changes', async () => {
      const subject = resolver({ hostsCheckIntervalMs: 0 });
      expect(await subject.resolve('intranet.test', {})).toEqual([{ address: '127.0.0.9', family: 4 }]);
      writeFileSync(hostsPath, '127.0.0.10 intranet.test\n');
      const later = new Date(Date.now() + 10_000);
      utimesSync(hostsPath, later, later);
      expect(await subject.resolve('intranet.test', {})).toEqual([{ address: '127.0.0.10', family: 4 }]);
      expect(nameserver.queries).toEqual([]);
    });

    it('asks DNS for a name once the hosts file is gone', async () => {
      const subject = resolver({ hostsCheckIntervalMs: 0 });
      rmSync(hostsPath);
      await expect(subject.resolve('intranet.test', { family: 4 })).rejects.toMatchObject({ code: 'ENOTFOUND' });
      expect(nameserver.count('intranet.test')).toBe(1);
    });
  });
});

describe('WebhookSender with the delivery resolver', () => {
  let nameserver: FakeNameserver;
  let receiver: Server;
  let port = 0;
  const senders: WebhookSender[] = [];

  beforeEach(async () => {
    nameserver = await new FakeNameserver({ 'ok.test': { a: ['127.0.0.1'], ttl: 300 } }, ['hang.test']).start();
    receiver = createServer((_req, res) => res.writeHead(204).end());
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    port = (receiver.address() as AddressInfo).port;
  });

  afterEach(async () => {
    await Promise.all(senders.splice(0).map((sender) => sender.close()));
    receiver.closeAllConnections();
    receiver.close();
    await once(receiver, 'close');
    await nameserver.close();
  });

  function sender(options: { allowPrivateNetworks: boolean; dnsServers?: string[] }): WebhookSender {
    const created = new WebhookSender({ userAgent: 'Pollarix-Webhooks/test', dnsTimeoutMs: 400, dnsTries: 2, dnsServers: [nameserver.server], ...options });
    senders.push(created);
    return created;
  }

  const send = (client: WebhookSender, url: string) => client.send({ url, body: '{}', headers: {}, timeoutMs: 20_000 });

  it('keeps healthy names and literals prompt while 8 names hang at their nameserver', async () => {
    const client = sender({ allowPrivateNetworks: true });
    const finished: Array<{ kind: string; at: number; error: string | null; ok: boolean }> = [];
    const track = (kind: string, url: string) => send(client, url).then((result) => finished.push({ kind, at: performance.now(), error: result.error, ok: result.ok }));
    const started = performance.now();
    // Eight distinct names, more than libuv's four pool threads: with dns.lookup they would hold every thread.
    const hanging = Array.from({ length: 8 }, (_unused, i) => track('hang', `http://${i === 0 ? '' : `n${i}.`}hang.test:${port}/`));
    const healthy = [
      ...Array.from({ length: 4 }, () => track('name', `http://ok.test:${port}/`)),
      ...Array.from({ length: 4 }, () => track('literal', `http://127.0.0.1:${port}/`)),
    ];
    await Promise.all([...hanging, ...healthy]);

    const hung = finished.filter((entry) => entry.kind === 'hang');
    const prompt = finished.filter((entry) => entry.kind !== 'hang');
    expect(hung.map((entry) => entry.error)).toEqual(Array(8).fill('dns'));
    expect(prompt.every((entry) => entry.ok)).toBe(true);
    // Every healthy send finished before the first hanging one gave up...
    expect(Math.max(...prompt.map((entry) => entry.at))).toBeLessThan(Math.min(...hung.map((entry) => entry.at)));
    // ...and the hanging ones gave up after the DNS timeout (400 ms, then a longer second try), not the attempt's 20 s.
    for (const entry of hung) {
      expect(entry.at - started).toBeGreaterThanOrEqual(400);
      expect(entry.at - started).toBeLessThan(10_000);
    }
    expect(nameserver.count('ok.test', 'A')).toBe(1);
  });

  it('reports a failure of the nameserver itself as dns, not connection_refused', async () => {
    const closed = createSocket('udp4');
    closed.bind(0, '127.0.0.1');
    await once(closed, 'listening');
    const closedPort = closed.address().port;
    closed.close();
    await once(closed, 'close');
    const result = await send(sender({ allowPrivateNetworks: true, dnsServers: [`127.0.0.1:${closedPort}`] }), `http://ok.test:${port}/`);
    expect(result).toMatchObject({ ok: false, statusCode: null, error: 'dns' });
  });

  it('keeps the SSRF guard on resolved names, localhost included, without asking DNS for localhost', async () => {
    const client = sender({ allowPrivateNetworks: false });
    expect(await send(client, `http://ok.test:${port}/`)).toMatchObject({ error: 'blocked_destination', blockedReason: 'loopback' });
    expect(await send(client, `http://localhost:${port}/`)).toMatchObject({ error: 'blocked_destination', blockedReason: 'loopback' });
    expect(nameserver.count('localhost')).toBe(0);
  });
});
