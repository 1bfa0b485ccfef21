import { promises as dns, LookupAddress } from 'node:dns';
import { isIP, LookupFunction } from 'node:net';
import { buildConnector } from 'undici';
import { BlockReason, classifyAddress } from './ssrf';

export const BLOCKED_DESTINATION_CODE = 'ERR_BLOCKED_DESTINATION';

/**
 * What customers read of a refused destination (delivery log, test-send). Never the address: which
 * internal address a name resolves to is for operators, who find it in the logs.
 */
export const BLOCKED_DESTINATION_MESSAGE = 'The destination resolves to an address that is not allowed';

/**
 * Thrown from the connection layer when a destination is refused; the sender maps it to 'blocked_destination'.
 * Its message names the address, for operators' logs.
 */
export class BlockedDestinationError extends Error {
  // A `code` like Node's own errors, so generic error handling can recognise it in a cause chain.
  readonly code = BLOCKED_DESTINATION_CODE;

  constructor(
    readonly host: string,
    readonly address: string,
    readonly reason: BlockReason,
  ) {
    super(host === address ? `Blocked destination ${address} (${reason})` : `Blocked destination ${host} resolves to ${address} (${reason})`);
    this.name = 'BlockedDestinationError';
  }
}

/** Resolves a name to all its addresses; injectable so tests can point a name at loopback without DNS. */
export type Resolver = (hostname: string, options: { family?: number; hints?: number }) => Promise<LookupAddress[]>;

/**
 * dns.lookup (getaddrinfo on libuv's thread pool, where a hanging nameserver holds a thread): fine for
 * a few trusted names; deliveries use DeliveryResolver instead.
 */
export const systemResolver: Resolver = (hostname, options) => dns.lookup(hostname, { family: options.family ?? 0, hints: options.hints, all: true });

function lookupFamily(family: number | 'IPv4' | 'IPv6' | undefined): number | undefined {
  if (family === 'IPv4') return 4;
  if (family === 'IPv6') return 6;
  return family;
}

/** Decides whether an address may be connected to; `null` means allowed. */
export type AddressPolicy = (address: string) => BlockReason | null;

/** The SPEC §8 policy; `() => null` when DELIVERY_ALLOW_PRIVATE_NETWORKS is on. */
export const blockNonPublic: AddressPolicy = classifyAddress;
export const allowAll: AddressPolicy = () => null;

/**
 * A `lookup` for net/tls.connect that classifies every answer and fails if any is blocked.
 * Refusing the whole name (rather than filtering) leaves no room for mixed public/private answers
 * used in rebinding tricks. The socket connects to the addresses returned here, so the check is pinned.
 */
export function createGuardedLookup(resolve: Resolver = systemResolver, policy: AddressPolicy = blockNonPublic): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { family: lookupFamily(options.family), hints: options.hints }).then(
      (addresses) => {
        if (addresses.length === 0) {
          const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
          error.code = 'ENOTFOUND';
          callback(error, []);
          return;
        }
        for (const { address } of addresses) {
          const reason = policy(address);
          if (reason !== null) {
            callback(new BlockedDestinationError(hostname, address, reason), []);
            return;
          }
        }
        // Node asks for every answer when it does happy eyeballs (autoSelectFamily), else for one.
        if (options.all === true) callback(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      },
      (error: NodeJS.ErrnoException) => callback(error, []),
    );
  };
}

/**
 * An undici connector that refuses blocked destinations. Names go through the guarded lookup;
 * IP literals never reach a lookup in net.connect, so they are classified here directly.
 */
export function createGuardedConnector(
  policy: AddressPolicy = blockNonPublic,
  resolve: Resolver = systemResolver,
  connectTimeoutMs?: number,
): buildConnector.connector {
  const connect = buildConnector({ lookup: createGuardedLookup(resolve, policy), timeout: connectTimeoutMs });
  return (options, callback) => {
    if (isIP(options.hostname) !== 0) {
      const reason = policy(options.hostname);
      if (reason !== null) {
        // Asynchronously, as a real connection failure would be: undici is mid-connect here.
        const error = new BlockedDestinationError(options.hostname, options.hostname, reason);
        process.nextTick(() => callback(error, null));
        return;
      }
    }
    connect(options, callback);
  };
}
