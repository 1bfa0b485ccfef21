import { performance } from 'node:perf_hooks';
import { Agent, Dispatcher } from 'undici';
import { sendableHeaders } from './custom-headers';
import {
  AddressPolicy,
  allowAll,
  BLOCKED_DESTINATION_CODE,
  BLOCKED_DESTINATION_MESSAGE,
  BlockedDestinationError,
  blockNonPublic,
  createGuardedConnector,
  Resolver,
} from './guarded-connect';
import { createDeliveryResolver } from './delivery-resolver';
import { loggableText, truncateText } from './loggable-text';
import { literalHostAddress } from './ssrf';

export interface SendRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

export type AttemptError =
  | 'timeout'
  | 'dns'
  | 'connection_refused'
  | 'connection_reset'
  | 'tls'
  | 'blocked_destination'
  | 'invalid_url'
  /** The receiver answered something that is not HTTP/1.1 (undici's parser refused it). */
  | 'invalid_response'
  | 'network';

/**
 * An attempt's error class in the delivery log: the sender's, `http_status` for an answer that is not
 * 2xx, or `undecryptable` when the webhook's secrets cannot be opened (nothing was sent).
 */
export type AttemptErrorClass = AttemptError | 'http_status' | 'undecryptable';

export interface SendResult {
  /** A 2xx status with the whole attempt (including the capped body read) completed in time. */
  ok: boolean;
  /** null when no response arrived. */
  statusCode: number | null;
  durationMs: number;
  /** The first RESPONSE_BODY_LIMIT bytes of the body as loggableText (UTF-8, NUL and controls escaped). */
  responseBody: string;
  responseBodyTruncated: boolean;
  /** The response's content-type header, trimmed, as loggableText, at most 255 characters; null when none. */
  responseContentType: string | null;
  /** Why the attempt failed without a usable response (also set if the body read failed after the status). */
  error: AttemptError | null;
  /**
   * Human text such as "connect ECONNREFUSED 127.0.0.1:9" or "HTTP 500", as loggableText; never contains
   * header values, nor the address of a blocked destination (customers read it).
   */
  errorMessage: string | null;
  /** Parsed Retry-After of a 429 or 503 response, else null. */
  retryAfterMs: number | null;
  /** The BlockReason when error is 'blocked_destination'. */
  blockedReason?: string;
  /** The refused address when error is 'blocked_destination': for operators' logs only, never for customers. */
  blockedAddress?: string;
  /** Custom headers left out because they cannot be sent (see sendableHeaders); absent when none were. */
  droppedHeaders?: string[];
}

/** A SendResult: no answer and no error unless `fields` say otherwise. */
export function sendResult(fields: Partial<SendResult>): SendResult {
  return {
    ok: false,
    statusCode: null,
    durationMs: 0,
    responseBody: '',
    responseBodyTruncated: false,
    responseContentType: null,
    error: null,
    errorMessage: null,
    retryAfterMs: null,
    ...fields,
  };
}

export interface SenderOptions {
  allowPrivateNetworks: boolean;
  userAgent: string;
  /** Per-origin connection pool size; default 50. */
  connections?: number;
  /** Bound on DNS + TCP/TLS connect, also for connects the attempt timeout has already abandoned; default 10 s. */
  connectTimeoutMs?: number;
  /**
   * Name resolution; defaults to a DeliveryResolver (c-ares, off the thread pool, with the dns* options
   * below). Tests point names at loopback with it.
   */
  resolver?: Resolver;
  /** Timeout of one DNS query try for the default resolver; default DEFAULT_DNS_TIMEOUT_MS. */
  dnsTimeoutMs?: number;
  /** Tries per DNS query for the default resolver; default DEFAULT_DNS_TRIES. */
  dnsTries?: number;
  /** Nameservers for the default resolver; default those of /etc/resolv.conf. */
  dnsServers?: string[];
}

/** How much of a receiver's response body is kept for the delivery log (20 KiB). */
export const RESPONSE_BODY_LIMIT = 20 * 1024;

const DEFAULT_CONNECTIONS = 50;
const MAX_ERROR_MESSAGE_LENGTH = 500;
const MAX_CONTENT_TYPE_LENGTH = 255;
// Shorter values are too likely to occur by chance in an error text to be worth redacting.
const MIN_REDACTED_VALUE_LENGTH = 6;

/**
 * Milliseconds to wait according to a Retry-After value: delta-seconds or an HTTP-date
 * (relative to `now`, never negative). null when the value is neither.
 */
export function parseRetryAfter(value: string, now: Date): number | null {
  const text = value.trim();
  if (text === '') return null;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Date.parse accepts bare numbers such as "1.5" as years; every HTTP-date form spells out names.
  if (!/[a-z]/i.test(text)) return null;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now.getTime());
}

interface ErrorLike {
  message: string;
  name: string;
  code?: unknown;
  cause?: unknown;
  errors?: unknown;
}

// Structural, not `instanceof Error`: errors raised by Node internals may come from another realm (jest, vm).
function isErrorLike(value: unknown): value is ErrorLike {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';
}

/** The error and everything it wraps (cause chains, AggregateError from happy eyeballs), outermost first. */
function errorChain(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  const pending: unknown[] = [error];
  while (pending.length > 0 && chain.length < 20) {
    const next = pending.shift();
    if (!isErrorLike(next) || chain.includes(next)) continue;
    chain.push(next);
    if (next.cause !== undefined) pending.push(next.cause);
    if (Array.isArray(next.errors)) pending.push(...(next.errors as unknown[]));
  }
  return chain;
}

/** What a result says of a refused destination: the fixed text for customers, the address for operators. */
function blockedFields(blocked: Partial<Pick<BlockedDestinationError, 'address' | 'reason'>>): Partial<SendResult> {
  return {
    error: 'blocked_destination',
    errorMessage: BLOCKED_DESTINATION_MESSAGE,
    ...(blocked.reason === undefined ? {} : { blockedReason: blocked.reason }),
    ...(blocked.address === undefined ? {} : { blockedAddress: blocked.address }),
  };
}

function blockedErrorOf(chain: ErrorLike[]): Partial<BlockedDestinationError> | undefined {
  return chain.find((e) => e instanceof BlockedDestinationError || e.code === BLOCKED_DESTINATION_CODE) as Partial<BlockedDestinationError> | undefined;
}

const CODE_TO_ERROR: ReadonlyMap<string, AttemptError> = new Map<string, AttemptError>([
  ['ENOTFOUND', 'dns'],
  ['EAI_AGAIN', 'dns'],
  ['EAI_FAIL', 'dns'],
  ['EAI_NODATA', 'dns'],
  ['EAI_NONAME', 'dns'],
  // c-ares (dns.Resolver) codes. Its ECONNREFUSED (nameserver unreachable) is deliberately absent:
  // the delivery resolver wraps its failures in a DnsLookupError with a getaddrinfo code instead.
  ['ENODATA', 'dns'],
  ['ESERVFAIL', 'dns'],
  ['EREFUSED', 'dns'],
  ['ETIMEOUT', 'dns'],
  ['EBADRESP', 'dns'],
  ['EFORMERR', 'dns'],
  ['EBADNAME', 'dns'],
  ['ENONAME', 'dns'],
  ['ECONNREFUSED', 'connection_refused'],
  ['ECONNRESET', 'connection_reset'],
  ['EPIPE', 'connection_reset'],
  ['UND_ERR_SOCKET', 'connection_reset'],
  ['UND_ERR_CONNECT_TIMEOUT', 'timeout'],
  ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
  ['UND_ERR_BODY_TIMEOUT', 'timeout'],
  ['ETIMEDOUT', 'timeout'],
  ['UND_ERR_ABORTED', 'timeout'],
  ['ABORT_ERR', 'timeout'],
  ['EPROTO', 'tls'],
  ['CERT_HAS_EXPIRED', 'tls'],
  ['CERT_NOT_YET_VALID', 'tls'],
  ['CERT_REVOKED', 'tls'],
  ['CERT_UNTRUSTED', 'tls'],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
  ['SELF_SIGNED_CERT_IN_CHAIN', 'tls'],
  ['UNABLE_TO_GET_ISSUER_CERT', 'tls'],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'tls'],
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls'],
  ['HOSTNAME_MISMATCH', 'tls'],
  ['ERR_INVALID_URL', 'invalid_url'],
  // A "connection: close" response whose connection ended before its content-length: a premature close,
  // like UND_ERR_SOCKET ("other side closed") for a keep-alive one.
  ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'connection_reset'],
]);

function codeToError(code: string): AttemptError | undefined {
  const mapped = CODE_TO_ERROR.get(code);
  if (mapped !== undefined) return mapped;
  // OpenSSL and Node's TLS layer have many codes; their prefixes are stable.
  if (code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.startsWith('CERT_')) return 'tls';
  // llhttp's error codes, which undici puts on its HTTPParserError when it can name one.
  if (code.startsWith('HPE_')) return 'invalid_response';
  return undefined;
}

/** Maps a failure without a usable HTTP response to the attempt error recorded in the delivery log. */
export function classifyAttemptError(error: unknown): AttemptError {
  const chain = errorChain(error);
  if (chain.some((e) => e instanceof BlockedDestinationError || e.code === BLOCKED_DESTINATION_CODE)) return 'blocked_destination';
  for (const e of chain) {
    const mapped = typeof e.code === 'string' ? codeToError(e.code) : undefined;
    if (mapped !== undefined) return mapped;
    // undici 7 often raises it without a code ("Response does not match the HTTP/1.1 protocol (…)").
    if (e.name === 'HTTPParserError') return 'invalid_response';
  }
  if (chain.some((e) => e.name === 'AbortError' || e.name === 'TimeoutError')) return 'timeout';
  return 'network';
}

function errorMessageOf(error: unknown): string {
  const messages: string[] = [];
  for (const e of errorChain(error)) {
    const message = e.message.trim();
    if (message !== '' && !messages.includes(message)) messages.push(message);
  }
  return messages.length > 0 ? messages.join(': ') : String(error);
}

// Custom headers may carry credentials; the log and API must never show them, whatever an error says.
function redact(message: string, headers: Record<string, string>): string {
  let result = message;
  for (const value of Object.values(headers)) {
    if (value.length >= MIN_REDACTED_VALUE_LENGTH) result = result.split(value).join('[redacted]');
  }
  return result;
}

/** The error's text for the log: redacted before it is cut, so no prefix of a secret survives the cut. */
function loggableErrorMessage(error: unknown, headers: Record<string, string>): string {
  const text = loggableText(redact(errorMessageOf(error), headers));
  return text.length > MAX_ERROR_MESSAGE_LENGTH ? `${truncateText(text, MAX_ERROR_MESSAGE_LENGTH)}…` : text;
}

function contentTypeOf(headers: Dispatcher.ResponseData['headers']): string | null {
  const value = firstHeader(headers['content-type'])?.trim();
  return value === undefined || value === '' ? null : truncateText(loggableText(value), MAX_CONTENT_TYPE_LENGTH);
}

function ignore(): void {}

/**
 * Rejects when the signal aborts. undici defers a request's abort until its connection is made,
 * so without this race a hanging DNS answer or connect would outlive the attempt timeout.
 */
function abortion(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(new Error('Attempt timed out')), { once: true });
  });
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

interface BodySink {
  chunks: Buffer[];
  size: number;
  truncated: boolean;
}

/** Reads up to RESPONSE_BODY_LIMIT bytes, then stops; the caller destroys whatever is left. */
async function readCapped(body: Dispatcher.ResponseData['body'], sink: BodySink): Promise<void> {
  for await (const chunk of body as AsyncIterable<unknown>) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    const room = RESPONSE_BODY_LIMIT - sink.size;
    if (buffer.length > room) {
      sink.chunks.push(buffer.subarray(0, room));
      sink.size += room;
      sink.truncated = true;
      return;
    }
    sink.chunks.push(buffer);
    sink.size += buffer.length;
  }
}

/**
 * The HTTP client for deliveries and test-sends: one pooled keep-alive agent whose connector
 * refuses blocked destinations (SPEC §8), no redirects, and a timeout over the whole attempt.
 */
export class WebhookSender {
  private readonly agent: Agent;
  private readonly policy: AddressPolicy;

  constructor(private readonly options: SenderOptions) {
    this.policy = options.allowPrivateNetworks ? allowAll : blockNonPublic;
    this.agent = new Agent({
      connections: options.connections ?? DEFAULT_CONNECTIONS,
      connect: createGuardedConnector(
        this.policy,
        options.resolver ?? createDeliveryResolver({ timeoutMs: options.dnsTimeoutMs, tries: options.dnsTries, servers: options.dnsServers }),
        options.connectTimeoutMs,
      ),
    });
  }

  async send(request: SendRequest): Promise<SendResult> {
    const started = performance.now();
    // A stored header undici would refuse (or a customer could smuggle with) must not fail every attempt.
    const { headers: custom, dropped } = sendableHeaders(request.headers);
    const result = (fields: Partial<SendResult>): SendResult =>
      sendResult({ durationMs: Math.round(performance.now() - started), ...fields, ...(dropped.length > 0 ? { droppedHeaders: dropped } : {}) });

    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return result({ error: 'invalid_url', errorMessage: 'Invalid URL' });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return result({ error: 'invalid_url', errorMessage: `Unsupported URL scheme ${url.protocol}` });
    }
    // The connector would refuse it too; refusing here is quicker and reports without a pool round trip.
    const literal = literalHostAddress(url);
    const literalReason = literal === null ? null : this.policy(literal);
    if (literal !== null && literalReason !== null) return result(blockedFields({ address: literal, reason: literalReason }));

    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(custom)) {
      const lower = name.toLowerCase();
      if (lower !== 'content-type' && lower !== 'user-agent') headers[name] = value;
    }
    headers['content-type'] = 'application/json';
    headers['user-agent'] = this.options.userAgent;

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), request.timeoutMs);
    const sink: BodySink = { chunks: [], size: 0, truncated: false };
    let response: Dispatcher.ResponseData | undefined;
    try {
      const pending = this.agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers,
        body: request.body,
        signal: controller.signal,
      });
      response = await Promise.race([pending, abortion(controller.signal)]).catch((error: unknown) => {
        // If the timeout won the race, a response that still turns up must not hold its socket.
        pending.then((late) => late.body.on('error', ignore).destroy(), ignore);
        throw error;
      });
      // Destroying an unfinished body emits an error; nobody else may be listening by then.
      response.body.on('error', ignore);
      await readCapped(response.body, sink);
      const statusCode = response.statusCode;
      const ok = statusCode >= 200 && statusCode < 300;
      const retryAfterHeader = statusCode === 429 || statusCode === 503 ? firstHeader(response.headers['retry-after']) : undefined;
      return result({
        ok,
        statusCode,
        responseBody: loggableText(Buffer.concat(sink.chunks)),
        responseBodyTruncated: sink.truncated,
        responseContentType: contentTypeOf(response.headers),
        errorMessage: ok ? null : `HTTP ${statusCode}`,
        retryAfterMs: retryAfterHeader === undefined ? null : parseRetryAfter(retryAfterHeader, new Date()),
      });
    } catch (error) {
      const blocked = blockedErrorOf(errorChain(error));
      let attemptError = classifyAttemptError(error);
      let message = loggableErrorMessage(error, request.headers);
      // Our own timer is the only thing that aborts, whatever error type undici surfaces for it.
      if (blocked === undefined && controller.signal.aborted) {
        attemptError = 'timeout';
        message = `Timed out after ${request.timeoutMs} ms${response === undefined ? '' : ' reading the response body'}`;
      }
      return result({
        statusCode: response?.statusCode ?? null,
        responseBody: loggableText(Buffer.concat(sink.chunks)),
        responseBodyTruncated: sink.truncated,
        responseContentType: response === undefined ? null : contentTypeOf(response.headers),
        error: attemptError,
        errorMessage: message,
        ...(blocked === undefined ? {} : blockedFields(blocked)),
      });
    } finally {
      clearTimeout(timer);
      // Whatever is left unread (truncation, errors) is dropped so the socket is never left hanging.
      if (response !== undefined && !response.body.destroyed && !response.body.readableEnded) {
        response.body.destroy();
      }
    }
  }

  /** Waits for in-flight requests, then closes the pooled connections. */
  async close(): Promise<void> {
    await this.agent.close();
  }
}
