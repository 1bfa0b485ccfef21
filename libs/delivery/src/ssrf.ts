import { isIPv4, isIPv6 } from 'node:net';
import * as ipaddr from 'ipaddr.js';

/** Why a destination address is refused (SPEC §8); `null` from the classifiers means allowed. */
export type BlockReason =
  'unspecified' | 'loopback' | 'private' | 'link_local' | 'cgnat' | 'multicast' | 'broadcast' | 'reserved' | 'documentation' | 'benchmarking' | 'metadata' | 'invalid';

type Range<T extends ipaddr.IPv4 | ipaddr.IPv6> = readonly [T, number];

function v4(cidr: string, reason: BlockReason): readonly [Range<ipaddr.IPv4>, BlockReason] {
  return [ipaddr.IPv4.parseCIDR(cidr), reason];
}

function v6(cidr: string, reason: BlockReason): readonly [Range<ipaddr.IPv6>, BlockReason] {
  return [ipaddr.IPv6.parseCIDR(cidr), reason];
}

// First match wins, so the single metadata/broadcast addresses come before the ranges holding them.
const IPV4_BLOCKED = [
  v4('169.254.169.254/32', 'metadata'),
  v4('169.254.170.2/32', 'metadata'),
  v4('100.100.100.200/32', 'metadata'),
  v4('192.0.0.192/32', 'metadata'),
  v4('255.255.255.255/32', 'broadcast'),
  v4('0.0.0.0/8', 'unspecified'),
  v4('10.0.0.0/8', 'private'),
  v4('100.64.0.0/10', 'cgnat'),
  v4('127.0.0.0/8', 'loopback'),
  v4('169.254.0.0/16', 'link_local'),
  v4('172.16.0.0/12', 'private'),
  v4('192.0.0.0/24', 'reserved'),
  v4('192.0.2.0/24', 'documentation'),
  v4('192.88.99.0/24', 'reserved'),
  v4('192.168.0.0/16', 'private'),
  v4('198.18.0.0/15', 'benchmarking'),
  v4('198.51.100.0/24', 'documentation'),
  v4('203.0.113.0/24', 'documentation'),
  v4('224.0.0.0/4', 'multicast'),
  v4('240.0.0.0/4', 'reserved'),
] as const;

// Ranges that embed an IPv4 address at a known place: the verdict is that of the embedded address.
const IPV4_MAPPED = ipaddr.IPv6.parseCIDR('::ffff:0:0/96');
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');
const SIX_TO_FOUR = ipaddr.IPv6.parseCIDR('2002::/16');

const IPV6_BLOCKED = [
  v6('::/128', 'unspecified'),
  v6('::1/128', 'loopback'),
  v6('fd00:ec2::254/128', 'metadata'),
  // Deprecated IPv4-compatible addresses (::a.b.c.d): no legitimate receiver uses them.
  v6('::/96', 'reserved'),
  // RFC 8215 local-use NAT64: the operator picks the prefix length (/48 to /96) and so where the IPv4
  // address sits, and its translator serves the operator's own network; no decoding can be trusted.
  v6('64:ff9b:1::/48', 'reserved'),
  v6('100::/64', 'reserved'),
  // Teredo: the client's IPv4 address is hidden (inverted) in the last bits and the server's sits in
  // bits 32-63; a relay would carry the request to either, so the whole prefix is refused.
  v6('2001::/32', 'reserved'),
  v6('2001:2::/48', 'benchmarking'),
  v6('2001:db8::/32', 'documentation'),
  v6('3fff::/20', 'documentation'),
  v6('5f00::/16', 'reserved'),
  v6('fc00::/7', 'private'),
  // Deprecated site-local: not in the reference list, but some stacks still route it internally.
  v6('fec0::/10', 'private'),
  v6('fe80::/10', 'link_local'),
  v6('ff00::/8', 'multicast'),
] as const;

// Only 2000::/3 is allocated for global unicast; anything else left over is unrouted space.
const IPV6_GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3');

function classifyV4(address: ipaddr.IPv4): BlockReason | null {
  for (const [range, reason] of IPV4_BLOCKED) {
    if (address.match(range[0], range[1])) return reason;
  }
  return null;
}

function embeddedV4(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

function classifyV6(address: ipaddr.IPv6): BlockReason | null {
  const parts = address.parts;
  if (address.match(IPV4_MAPPED[0], IPV4_MAPPED[1])) return classifyV4(address.toIPv4Address());
  if (address.match(NAT64_WELL_KNOWN[0], NAT64_WELL_KNOWN[1])) return classifyV4(embeddedV4(parts[6], parts[7]));
  if (address.match(SIX_TO_FOUR[0], SIX_TO_FOUR[1])) return classifyV4(embeddedV4(parts[1], parts[2]));
  for (const [range, reason] of IPV6_BLOCKED) {
    if (address.match(range[0], range[1])) return reason;
  }
  return address.match(IPV6_GLOBAL_UNICAST[0], IPV6_GLOBAL_UNICAST[1]) ? null : 'reserved';
}

/**
 * Classifies one IP address as allowed (`null`) or the reason it is refused.
 * Only canonical literals (what DNS and WHATWG URL produce) are accepted: legacy forms such as
 * `0177.1` are 'invalid', because the string we classify must be the string we connect to.
 */
export function classifyAddress(ip: string): BlockReason | null {
  try {
    if (isIPv4(ip)) return classifyV4(ipaddr.IPv4.parse(ip));
    if (isIPv6(ip)) return classifyV6(ipaddr.IPv6.parse(ip));
  } catch {
    return 'invalid';
  }
  return 'invalid';
}

/** The bare address when the URL's host is an IP literal (IPv6 without brackets), else null. */
export function literalHostAddress(url: URL): string | null {
  const host = url.hostname;
  if (host.startsWith('[') && host.endsWith(']')) {
    const inner = host.slice(1, -1);
    return isIPv6(inner) ? inner : null;
  }
  return isIPv4(host) ? host : null;
}

/**
 * Create/update-time check of a webhook URL (SPEC §8: 422 for literal blocked addresses).
 * Names other than localhost are not resolved here; the sender checks them at connect time.
 */
export function blockedLiteralDestination(url: string): BlockReason | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'invalid';
  }
  const literal = literalHostAddress(parsed);
  if (literal !== null) return classifyAddress(literal);
  // A trailing dot is the same name to DNS, so `localhost.` must not slip through.
  const host = parsed.hostname.endsWith('.') ? parsed.hostname.slice(0, -1) : parsed.hostname;
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback';
  return null;
}
