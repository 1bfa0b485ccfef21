/*
 * Which custom headers a webhook may carry (SPEC §5): the one list the API validates against and the
 * sender filters with, so that a header accepted by one is never refused by the other.
 */

/**
 * Headers that frame the message or manage the connection (RFC 9110 §7.6.1, RFC 9112): a customer
 * who set them could smuggle a second request to the receiver or retarget the request (host), and
 * undici refuses most of them outright (transfer-encoding, keep-alive, upgrade, expect; connection
 * and content-length unless well-formed), which would fail every attempt.
 */
const TRANSPORT_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'http2-settings',
]);
/** proxy-authorization, proxy-connection, …: meant for a proxy on the way, never for the receiver. */
const TRANSPORT_PREFIXES = ['proxy-'] as const;

/** Headers the service sets on every request itself: the body's type, who sends, and Standard Webhooks signing. */
const SERVICE_HEADERS: ReadonlySet<string> = new Set(['content-type', 'user-agent']);
const SERVICE_PREFIXES = ['webhook-'] as const;

/** Every reserved name and prefix, for documentation and error messages. */
export const RESERVED_HEADER_NAMES: readonly string[] = [...TRANSPORT_HEADERS, ...SERVICE_HEADERS];
export const RESERVED_HEADER_PREFIXES: readonly string[] = [...TRANSPORT_PREFIXES, ...SERVICE_PREFIXES];

// RFC 9110 token characters (what undici accepts as a header name).
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Visible ASCII, spaces and tabs, and obs-text, as undici checks values: no CR, LF, NUL or other controls.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

const startsWithAny = (name: string, prefixes: readonly string[]): boolean => prefixes.some((prefix) => name.startsWith(prefix));

/** A framing or hop-by-hop header (case-insensitive): never sent, whoever asks. */
export function isTransportHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return TRANSPORT_HEADERS.has(lower) || startsWithAny(lower, TRANSPORT_PREFIXES);
}

/** A name customers may not set (case-insensitive): transport headers and those the service sets itself. */
export function isReservedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return isTransportHeader(lower) || SERVICE_HEADERS.has(lower) || startsWithAny(lower, SERVICE_PREFIXES);
}

export const isValidHeaderName = (name: string): boolean => HEADER_NAME.test(name);
export const isValidHeaderValue = (value: string): boolean => HEADER_VALUE.test(value);

export interface SendableHeaders {
  headers: Record<string, string>;
  /** Names left out (as given), because sending them would fail the request or let it be smuggled. */
  dropped: string[];
}

/**
 * What the sender may put on the wire of the headers it is given: transport headers, and any name or
 * value undici would refuse, are left out. The API never stores such a header; this keeps one stored
 * before the rule (or written around the API) from failing every attempt.
 */
export function sendableHeaders(headers: Record<string, string>): SendableHeaders {
  const sendable: Record<string, string> = {};
  const dropped: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (isTransportHeader(name) || !isValidHeaderName(name) || typeof value !== 'string' || !isValidHeaderValue(value)) dropped.push(name);
    else sendable[name] = value;
  }
  return { headers: sendable, dropped };
}
