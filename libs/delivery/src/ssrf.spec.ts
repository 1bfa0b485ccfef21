import fc from 'fast-check';
import * as ipaddr from 'ipaddr.js';
import { BlockReason, blockedLiteralDestination, classifyAddress, literalHostAddress } from './ssrf';

type Case = readonly [address: string, expected: BlockReason | null];

describe('classifyAddress', () => {
  const ipv4: Case[] = [
    ['0.0.0.0', 'unspecified'],
    ['0.255.255.255', 'unspecified'],
    ['1.0.0.0', null],
    ['9.255.255.255', null],
    ['10.0.0.0', 'private'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['11.0.0.0', null],
    ['100.63.255.255', null],
    ['100.64.0.0', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['100.128.0.0', null],
    ['126.255.255.255', null],
    ['127.0.0.0', 'loopback'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.255', 'loopback'],
    ['128.0.0.0', null],
    ['169.253.255.255', null],
    ['169.254.0.0', 'link_local'],
    ['169.254.255.255', 'link_local'],
    ['169.255.0.0', null],
    ['172.15.255.255', null],
    ['172.16.0.0', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.0', null],
    ['191.255.255.255', null],
    ['192.0.0.0', 'reserved'],
    ['192.0.0.255', 'reserved'],
    ['192.0.1.0', null],
    ['192.0.2.0', 'documentation'],
    ['192.0.2.255', 'documentation'],
    ['192.0.3.0', null],
    ['192.88.98.255', null],
    ['192.88.99.0', 'reserved'],
    ['192.88.99.255', 'reserved'],
    ['192.88.100.0', null],
    ['192.167.255.255', null],
    ['192.168.0.0', 'private'],
    ['192.168.255.255', 'private'],
    ['192.169.0.0', null],
    ['198.17.255.255', null],
    ['198.18.0.0', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['198.20.0.0', null],
    ['198.51.99.255', null],
    ['198.51.100.0', 'documentation'],
    ['198.51.100.255', 'documentation'],
    ['198.51.101.0', null],
    ['203.0.112.255', null],
    ['203.0.113.0', 'documentation'],
    ['203.0.113.255', 'documentation'],
    ['203.0.114.0', null],
    ['223.255.255.255', null],
    ['224.0.0.0', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['240.0.0.0', 'reserved'],
    ['255.255.255.254', 'reserved'],
    ['255.255.255.255', 'broadcast'],
  ];

  const ipv6: Case[] = [
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['::2', 'reserved'],
    ['::7f00:1', 'reserved'],
    ['::ffff:ffff', 'reserved'],
    ['::1:0:0', 'reserved'],
    ['100::', 'reserved'],
    ['100::ffff:ffff:ffff:ffff', 'reserved'],
    ['100:0:0:1::', 'reserved'],
    ['2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', null],
    ['2001:db8::', 'documentation'],
    ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 'documentation'],
    ['2001:db9::', null],
    ['3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff', null],
    ['3fff::', 'documentation'],
    ['3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff', 'documentation'],
    ['3fff:1000::', null],
    ['5f00::', 'reserved'],
    ['5f00:ffff::1', 'reserved'],
    ['fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
    ['fc00::', 'private'],
    ['fd12:3456::1', 'private'],
    ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'private'],
    ['fe80::', 'link_local'],
    ['fe80::1', 'link_local'],
    ['fe80::1%eth0', 'link_local'],
    ['febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'link_local'],
    ['fec0::1', 'private'],
    ['ff00::', 'multicast'],
    ['ff02::1', 'multicast'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'multicast'],
    // Outside 2000::/3 nothing is routed on the Internet.
    ['4000::1', 'reserved'],
    ['1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
    ['2000::', null],
  ];

  const embedded: Case[] = [
    // IPv4-mapped (::ffff:0:0/96), in both textual forms.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:a00:1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['::ffff:8.8.8.8', null],
    // NAT64 well-known prefix.
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['64:ff9b::8.8.8.8', null],
    // Only the /96 embeds its IPv4 address in the last 32 bits; the rest of 64:ff9b::/32 is not routed.
    ['64:ff9b::1:0:0', 'reserved'],
    ['64:ff9b:0:0:1::8.8.8.8', 'reserved'],
    ['64:ff9b:2::8.8.8.8', 'reserved'],
    // NAT64 local-use prefix (RFC 8215): refused whole, whatever it seems to embed (it was decoded as a /96).
    ['64:ff9b:1::', 'reserved'],
    ['64:ff9b:1::127.0.0.1', 'reserved'],
    ['64:ff9b:1::8.8.8.8', 'reserved'],
    ['64:ff9b:1:808:8:800:0:0', 'reserved'],
    ['64:ff9b:1:ffff:ffff:ffff:ffff:ffff', 'reserved'],
    // 6to4: embedded address in bits 16..48.
    ['2002:7f00:1::', 'loopback'],
    ['2002:7f00:1:ffff::1', 'loopback'],
    ['2002:a00:1::', 'private'],
    ['2002:a9fe:a9fe::', 'metadata'],
    ['2002:808:808::1', null],
    ['2002:0:0::1', 'unspecified'],
    ['2002:c000:263::', 'documentation'],
    ['2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'broadcast'],
    ['2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff', null],
    ['2003::', null],
  ];

  const teredo: Case[] = [
    // 2001::/32: server 65.54.227.120, client 192.0.2.45 (obfuscated), the RFC 4380 example.
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'],
    // A public client and server: still a tunnel whose far end the check cannot see.
    ['2001:0:808:808::f7f7:f7f7', 'reserved'],
    ['2001::', 'reserved'],
    ['2001:0:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
    ['2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff', null],
    ['2001:1::1', null],
    ['2001:2::', 'benchmarking'],
    ['2001:2:0:ffff:ffff:ffff:ffff:ffff', 'benchmarking'],
    ['2001:2:1::', null],
  ];

  const metadata: Case[] = [
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['192.0.0.192', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
  ];

  const publicAddresses: Case[] = [
    ['8.8.8.8', null],
    ['1.1.1.1', null],
    ['93.184.216.34', null],
    ['2606:4700:4700::1111', null],
    ['2a00:1450:4001:80b::200e', null],
  ];

  const invalid: Case[] = [
    ['', 'invalid'],
    ['localhost', 'invalid'],
    ['example.com', 'invalid'],
    ['256.0.0.1', 'invalid'],
    ['[::1]', 'invalid'],
    // Legacy forms are refused rather than guessed at: only canonical literals are connected to.
    ['2130706433', 'invalid'],
    ['0177.0.0.1', 'invalid'],
    ['0x7f.0.0.1', 'invalid'],
    ['127.1', 'invalid'],
    ['10.0.0.1/8', 'invalid'],
  ];

  it.each([...ipv4, ...ipv6, ...embedded, ...teredo, ...metadata, ...publicAddresses, ...invalid])('%s → %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });
});

/** A random address inside `cidr`, as text in canonical form. */
function addressIn(cidr: string): fc.Arbitrary<string> {
  const [base, bits] = ipaddr.parseCIDR(cidr);
  const width = base.kind() === 'ipv4' ? 32 : 128;
  const start = base.toByteArray().reduce((n, byte) => (n << 8n) | BigInt(byte), 0n);
  const hostBits = BigInt(width - bits);
  return fc.bigInt({ min: 0n, max: (1n << hostBits) - 1n }).map((host) => {
    const value = ((start >> hostBits) << hostBits) | host;
    const bytes = Array.from({ length: width / 8 }, (_, i) => Number((value >> BigInt(width - 8 * (i + 1))) & 0xffn));
    return ipaddr.fromByteArray(bytes).toString();
  });
}

const ipv4Address = addressIn('0.0.0.0/0');
const hex = (address: string): [string, string] => {
  const [a, b, c, d] = ipaddr.IPv4.parse(address).octets;
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
};

describe('classifyAddress over whole ranges (fast-check)', () => {
  // /work/shared/REFERENCES.md, the ranges Svix's resolver filters, plus Teredo and local-use NAT64.
  const blockedRanges = [
    '0.0.0.0/8',
    '10.0.0.0/8',
    '100.64.0.0/10',
    '127.0.0.0/8',
    '169.254.0.0/16',
    '172.16.0.0/12',
    '192.0.0.0/24',
    '192.0.2.0/24',
    '192.88.99.0/24',
    '192.168.0.0/16',
    '198.18.0.0/15',
    '198.51.100.0/24',
    '203.0.113.0/24',
    '224.0.0.0/4',
    '240.0.0.0/4',
    '255.255.255.255/32',
    '::/128',
    '::1/128',
    '64:ff9b:1::/48',
    '100::/64',
    '2001::/32',
    '2001:db8::/32',
    '3fff::/20',
    '5f00::/16',
    'fc00::/7',
    'fe80::/10',
    'ff00::/8',
  ];

  it.each(blockedRanges)('refuses every address in %s', (cidr) => {
    fc.assert(fc.property(addressIn(cidr), (address) => classifyAddress(address) !== null));
  });

  it('judges an IPv4 address the same in its mapped, NAT64 and 6to4 forms', () => {
    fc.assert(
      fc.property(ipv4Address, fc.bigInt({ min: 0n, max: (1n << 80n) - 1n }), (address, tail) => {
        const [high, low] = hex(address);
        const verdict = classifyAddress(address);
        const subnetAndInterface = tail.toString(16).padStart(20, '0').match(/.{4}/g)!.join(':');
        expect([
          classifyAddress(`::ffff:${address}`),
          classifyAddress(`::ffff:${high}:${low}`),
          classifyAddress(`64:ff9b::${address}`),
          classifyAddress(`2002:${high}:${low}:${subnetAndInterface}`),
        ]).toEqual([verdict, verdict, verdict, verdict]);
      }),
    );
  });

  it('refuses a public IPv4 address behind Teredo or local-use NAT64', () => {
    const publicV4 = ipv4Address.filter((address) => classifyAddress(address) === null);
    fc.assert(
      fc.property(publicV4, publicV4, (server, client) => {
        const [sh, sl] = hex(server);
        const [ch, cl] = hex(client);
        expect(classifyAddress(`2001:0:${sh}:${sl}:0:0:${ch}:${cl}`)).toBe('reserved');
        expect(classifyAddress(`64:ff9b:1::${client}`)).toBe('reserved');
      }),
    );
  });
});

describe('literalHostAddress', () => {
  it.each([
    ['http://127.0.0.1:8080/x', '127.0.0.1'],
    ['http://2130706433/', '127.0.0.1'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['http://0/', '0.0.0.0'],
    ['http://[::1]/', '::1'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['https://[2606:4700:4700::1111]:8443/', '2606:4700:4700::1111'],
    ['https://example.com/', null],
    ['http://localhost:3000/', null],
    ['http://1.2.3.4.example.com/', null],
  ])('%s → %s', (url, expected) => {
    expect(literalHostAddress(new URL(url))).toBe(expected);
  });
});

describe('blockedLiteralDestination', () => {
  it.each([
    ['http://127.0.0.1/', 'loopback'],
    ['http://2130706433/', 'loopback'],
    ['http://0x7f.1/', 'loopback'],
    ['http://017700000001/', 'loopback'],
    ['http://0.0.0.0:8080/', 'unspecified'],
    ['http://0/', 'unspecified'],
    ['http://[::1]/', 'loopback'],
    ['http://[::]/', 'unspecified'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[::ffff:10.0.0.1]/', 'private'],
    ['http://[64:ff9b::169.254.169.254]/', 'metadata'],
    ['http://[2002:a9fe:a9fe::1]/', 'metadata'],
    ['http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', 'reserved'],
    ['http://[64:ff9b:1::8.8.8.8]/', 'reserved'],
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://[fd00:ec2::254]/', 'metadata'],
    ['https://10.0.0.1/hook', 'private'],
    ['http://localhost/', 'loopback'],
    ['http://LOCALHOST:3000/', 'loopback'],
    ['http://localhost./', 'loopback'],
    ['http://api.localhost/', 'loopback'],
    ['not a url', 'invalid'],
    ['https://example.com/hook', null],
    ['https://localhost.example.com/hook', null],
    ['https://8.8.8.8/hook', null],
    ['https://[2606:4700:4700::1111]/hook', null],
  ])('%s → %s', (url, expected) => {
    expect(blockedLiteralDestination(url)).toBe(expected);
  });
});
