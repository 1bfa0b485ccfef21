/*
 * Name resolution for deliveries that one tenant's broken DNS cannot turn into everyone's outage.
 *
 * dns.lookup (getaddrinfo) runs on libuv's thread pool, four threads by default: four names whose
 * nameserver never answers hold every thread for the resolver's whole timeout, and every other lookup,
 * fs call or crypto job in the process queues behind them. This resolver asks c-ares instead
 * (dns.promises.Resolver: asynchronous sockets on the event loop, no threads) with its own timeout and
 * tries, and answers what getaddrinfo would have answered locally (IP literals, localhost, /etc/hosts)
 * without any query.
 *
 * Written here rather than taken from npm: cacheable-lookup (the usual choice) is ESM-only since
 * v7, has no hosts-file support since v6 and instead falls back to dns.lookup (the thread pool this
 * avoids) for names the resolver cannot find; no package in node_modules does the job.
 */
import { TtlCache, ttlCache } from '@pollarix/common';
import { LookupAddress, promises as dns } from 'node:dns';
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Resolver } from './guarded-connect';

export interface DeliveryResolverOptions {
  /**
   * c-ares timeout of a query's first try, in ms; c-ares lengthens later tries, so with one silent
   * nameserver 2000 ms × 2 tries gives up after about 6 s (measured, c-ares 1.34). Default 2000.
   */
  timeoutMs?: number;
  /** Tries per query and nameserver; default 2. */
  tries?: number;
  /** Nameservers ("127.0.0.1:5353", "[::1]:53"); default those of /etc/resolv.conf. */
  servers?: string[];
  /** Default /etc/hosts. */
  hostsPath?: string;
  /** The hosts file's mtime is checked at most this often; default 1 s. */
  hostsCheckIntervalMs?: number;
  /** Upper bound on how long an answer is kept, whatever its TTL; default 60 s. */
  maxTtlMs?: number;
  /** Lower bound on how long an answer is kept; default 0 (a TTL of 0 is not cached). */
  minTtlMs?: number;
  /** How long a failed lookup is remembered; default 5 s, 0 to not remember failures. */
  negativeTtlMs?: number;
  /** Cache size in names (per family asked for); the least recently used go first; default 1000. */
  maxEntries?: number;
}

export const DEFAULT_DNS_TIMEOUT_MS = 2_000;
export const DEFAULT_DNS_TRIES = 2;
const DEFAULT_MAX_TTL_MS = 60_000;
const DEFAULT_NEGATIVE_TTL_MS = 5_000;
const DEFAULT_MAX_ENTRIES = 1_000;
// An edit of the hosts file is seen within this delay, and lookups do not stat it each time.
const DEFAULT_HOSTS_CHECK_INTERVAL_MS = 1_000;

/** c-ares codes that mean "the name (or this record type) does not exist", not "DNS is broken". */
const NOT_FOUND_CODES: ReadonlySet<string> = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME']);

export type DnsLookupErrorCode = 'ENOTFOUND' | 'EAI_AGAIN';

/**
 * A failed resolution, with getaddrinfo's codes: ENOTFOUND when the name has no address, EAI_AGAIN
 * when DNS did not answer properly. c-ares reports an unreachable nameserver as ECONNREFUSED, which
 * must not be mistaken for the receiver refusing the connection; the original error is the `cause`.
 */
export class DnsLookupError extends Error {
  constructor(
    readonly code: DnsLookupErrorCode,
    readonly hostname: string,
    cause: unknown,
    cached = false,
  ) {
    super(`DNS lookup of ${hostname} failed${cached ? ' (cached answer)' : ''}`, { cause });
    this.name = 'DnsLookupError';
  }
}

export type HostsTable = ReadonlyMap<string, readonly LookupAddress[]>;

/**
 * /etc/hosts lines ("address name [alias…]  # comment") as lower-case name → addresses, in file
 * order; lines whose first field is not an IP address are skipped, like getaddrinfo does.
 */
export function parseHosts(text: string): HostsTable {
  const table = new Map<string, LookupAddress[]>();
  for (const line of text.split(/\r?\n/)) {
    const fields = line.replace(/#.*/, '').trim().split(/\s+/);
    const [address, ...names] = fields;
    // An IPv6 zone index (fe80::1%eth0) is not something a delivery may use; isIP refuses it too.
    const family = address === undefined ? 0 : isIP(address);
    if (family === 0) continue;
    for (const raw of names) {
      const name = normalizeName(raw);
      const known = table.get(name) ?? [];
      if (!known.some((entry) => entry.address === address)) known.push({ address, family });
      table.set(name, known);
    }
  }
  return table;
}

/** Lower case, without the trailing dot of an absolute name. */
function normalizeName(hostname: string): string {
  const lower = hostname.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** RFC 6761 §6.3: localhost and every name under it are loopback, and never asked of a nameserver. */
export function isLocalhostName(name: string): boolean {
  return name === 'localhost' || name.endsWith('.localhost');
}

const LOOPBACK: readonly LookupAddress[] = [
  { address: '127.0.0.1', family: 4 },
  { address: '::1', family: 6 },
];

function ofFamily(addresses: readonly LookupAddress[], family: number): LookupAddress[] {
  return addresses.filter((entry) => family === 0 || entry.family === family);
}

/** A cached answer, or a remembered failure; each kept for its own TTL (see query). */
type CacheEntry = { addresses: LookupAddress[] } | { error: DnsLookupError };

type RecordType = 'A' | 'AAAA';

interface Answer {
  addresses: LookupAddress[];
  ttlMs: number;
}

/**
 * The delivery resolver: `resolve` is a guarded-connect Resolver. `hints` are ignored (they tune
 * getaddrinfo; the guarded lookup classifies whatever comes back).
 */
export class DeliveryResolver {
  private readonly dns: dns.Resolver;
  private readonly hostsPath: string;
  private readonly hostsCheckIntervalMs: number;
  private readonly maxTtlMs: number;
  private readonly minTtlMs: number;
  private readonly negativeTtlMs: number;
  private readonly cache: TtlCache<string, CacheEntry>;
  // Concurrent lookups of one name share one query, so a burst to a slow name costs one wait.
  private readonly inFlight = new Map<string, Promise<LookupAddress[]>>();
  private hosts: HostsTable = new Map();
  private hostsMtimeMs = Number.NaN;
  private hostsCheckedAt = Number.NEGATIVE_INFINITY;

  constructor(options: DeliveryResolverOptions = {}) {
    this.dns = new dns.Resolver({ timeout: options.timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS, tries: options.tries ?? DEFAULT_DNS_TRIES });
    if (options.servers !== undefined) this.dns.setServers(options.servers);
    this.hostsPath = options.hostsPath ?? '/etc/hosts';
    this.hostsCheckIntervalMs = options.hostsCheckIntervalMs ?? DEFAULT_HOSTS_CHECK_INTERVAL_MS;
    this.maxTtlMs = options.maxTtlMs ?? DEFAULT_MAX_TTL_MS;
    this.minTtlMs = Math.min(options.minTtlMs ?? 0, this.maxTtlMs);
    this.negativeTtlMs = options.negativeTtlMs ?? DEFAULT_NEGATIVE_TTL_MS;
    // No default TTL: every entry is set with its own (the answer's, or negativeTtlMs for a failure).
    this.cache = ttlCache({ max: options.maxEntries ?? DEFAULT_MAX_ENTRIES, ttlMs: 0 });
  }

  readonly resolve: Resolver = async (hostname, options) => {
    const family = options.family === 4 || options.family === 6 ? options.family : 0;
    const literal = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
    const literalFamily = isIP(literal);
    if (literalFamily !== 0) return [{ address: literal, family: literalFamily }];

    const name = normalizeName(hostname);
    if (isLocalhostName(name)) return ofFamily(LOOPBACK, family);
    const fromHosts = this.hostsTable().get(name);
    if (fromHosts !== undefined) {
      const matching = ofFamily(fromHosts, family);
      // A name the hosts file defines is local by intent: never asked of DNS, not even for the other family.
      if (matching.length > 0) return matching;
      throw new DnsLookupError('ENOTFOUND', hostname, new Error(`${hostname} has no IPv${family} address in ${this.hostsPath}`));
    }

    const key = `${family}:${name}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      if ('addresses' in cached) return cached.addresses.slice();
      throw new DnsLookupError(cached.error.code, hostname, cached.error.cause, true);
    }
    let pending = this.inFlight.get(key);
    if (pending === undefined) {
      pending = this.query(name, family, key).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return (await pending).slice();
  };

  /** Stops the queries in flight (they fail with ECANCELLED); the resolver stays usable. */
  cancel(): void {
    this.dns.cancel();
  }

  /** Names currently cached (answers and remembered failures, expired ones until touched). */
  get cachedNames(): number {
    return this.cache.size;
  }

  private async query(name: string, family: number, key: string): Promise<LookupAddress[]> {
    const types: RecordType[] = family === 4 ? ['A'] : family === 6 ? ['AAAA'] : ['A', 'AAAA'];
    // A then AAAA: connections fall back across families anyway (happy eyeballs), and many
    // networks this runs in have no IPv6 route.
    const outcomes = await settleWithGrace(types.map((type) => this.queryType(name, type)));
    const addresses: LookupAddress[] = [];
    let ttlMs = Number.POSITIVE_INFINITY;
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled' && outcome.value.addresses.length > 0) {
        addresses.push(...outcome.value.addresses);
        ttlMs = Math.min(ttlMs, outcome.value.ttlMs);
      }
    }
    if (addresses.length > 0) {
      const keepMs = Math.min(Math.max(ttlMs, this.minTtlMs), this.maxTtlMs);
      if (keepMs > 0) this.cache.set(key, { addresses }, { ttl: keepMs });
      return addresses;
    }
    const failures = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
    // One broken answer (timeout, SERVFAIL, refused) makes it a DNS failure, not proof the name is absent.
    const broken = failures.find((reason) => !NOT_FOUND_CODES.has(codeOf(reason)));
    const error =
      broken === undefined ? new DnsLookupError('ENOTFOUND', name, failures[0] ?? new Error(`${name} has no address`)) : new DnsLookupError('EAI_AGAIN', name, broken);
    // Remembered briefly: a webhook's own retries are spaced far wider than this, so the cache only
    // merges bursts, such as every pending delivery of one tenant hitting the same dead nameserver.
    if (this.negativeTtlMs > 0) this.cache.set(key, { error }, { ttl: this.negativeTtlMs });
    throw error;
  }

  private async queryType(name: string, type: RecordType): Promise<Answer> {
    const records = type === 'A' ? await this.dns.resolve4(name, { ttl: true }) : await this.dns.resolve6(name, { ttl: true });
    const family = type === 'A' ? 4 : 6;
    return {
      addresses: records.map((record) => ({ address: record.address, family })),
      ttlMs: records.reduce((least, record) => Math.min(least, record.ttl * 1000), Number.POSITIVE_INFINITY),
    };
  }

  /**
   * The hosts table, re-read when the file's mtime changes. Sync fs on purpose: async fs runs on the
   * same thread pool this resolver keeps out of, and a stat of a local file takes microseconds.
   */
  private hostsTable(): HostsTable {
    const now = Date.now();
    if (now - this.hostsCheckedAt < this.hostsCheckIntervalMs) return this.hosts;
    this.hostsCheckedAt = now;
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.hostsPath).mtimeMs;
    } catch {
      this.hosts = new Map();
      this.hostsMtimeMs = Number.NaN;
      return this.hosts;
    }
    if (mtimeMs !== this.hostsMtimeMs) {
      try {
        this.hosts = parseHosts(readFileSync(this.hostsPath, 'utf8'));
        this.hostsMtimeMs = mtimeMs;
      } catch {
        this.hosts = new Map();
      }
    }
    return this.hosts;
  }
}

function codeOf(reason: unknown): string {
  const code = typeof reason === 'object' && reason !== null ? (reason as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : '';
}

/** A Resolver for deliveries (see DeliveryResolver). */
export function createDeliveryResolver(options: DeliveryResolverOptions = {}): Resolver {
  return new DeliveryResolver(options).resolve;
}

/** Once one family has answered with addresses, how long the other may still take. */
const OTHER_FAMILY_GRACE_MS = 250;

/**
 * Like Promise.allSettled, except that once one query has answered with addresses the others get
 * OTHER_FAMILY_GRACE_MS more: a network that drops AAAA queries must not cost every lookup the whole
 * DNS timeout when A answered at once. Queries still running then are left to finish unobserved.
 */
function settleWithGrace(queries: Promise<Answer>[]): Promise<PromiseSettledResult<Answer>[]> {
  if (queries.length < 2) return Promise.allSettled(queries);
  return new Promise((resolve) => {
    const settled: (PromiseSettledResult<Answer> | undefined)[] = queries.map(() => undefined);
    let left = queries.length;
    let grace: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(grace);
      resolve(settled.filter((outcome): outcome is PromiseSettledResult<Answer> => outcome !== undefined));
    };
    queries.forEach((query, i) => {
      query.then(
        (value) => {
          settled[i] = { status: 'fulfilled', value };
          if (value.addresses.length > 0 && grace === undefined && left > 1) grace = setTimeout(finish, OTHER_FAMILY_GRACE_MS);
          if (--left === 0) finish();
        },
        (reason: unknown) => {
          settled[i] = { status: 'rejected', reason };
          if (--left === 0) finish();
        },
      );
    });
  });
}
