/**
 * Whether an error means PostgreSQL could not be reached or did not answer in time (SPEC §9: a stalled
 * database is a 503, not a 500), as opposed to a statement it refused. node-postgres and TypeORM errors
 * are recognised by shape (SQLSTATE, errno code, node-postgres' own messages), so this module needs
 * neither; a TypeORM QueryFailedError carries the driver's error as `driverError`.
 */

/** Seconds a client is asked to wait before retrying (Retry-After) while the database does not answer. */
export const DATABASE_RETRY_AFTER_S = 5;

/** SQLSTATEs of a server that is going away, starting, overloaded, or that cancelled a statement for its statement_timeout. */
const UNAVAILABLE_SQLSTATES = new Set(['57014', '57P01', '57P02', '57P03', '53300']);
/** Class 08: connection exception. */
const CONNECTION_EXCEPTION_CLASS = '08';
/** Socket errors on the way to the server. */
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** node-postgres' and pg-pool's own messages for a timeout or a connection that went away. */
const UNAVAILABLE_MESSAGES = [/^Query read timeout$/, /^timeout exceeded when trying to connect$/, /^Connection terminated/, /is not queryable$/];

interface ErrorShape {
  code?: unknown;
  message?: unknown;
  driverError?: unknown;
  cause?: unknown;
}

function unavailableItself(error: ErrorShape): boolean {
  const code = typeof error.code === 'string' ? error.code : undefined;
  if (code !== undefined && (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_ERRNO.has(code))) return true;
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code) && code.startsWith(CONNECTION_EXCEPTION_CLASS)) return true;
  const message = typeof error.message === 'string' ? error.message : '';
  return UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message));
}

export function isDatabaseUnavailable(error: unknown): boolean {
  let current: unknown = error;
  // The error itself, then what it wraps (a QueryFailedError's driverError, an Error's cause), a few levels deep.
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const shape = current as ErrorShape;
    if (unavailableItself(shape)) return true;
    current = shape.driverError ?? shape.cause;
  }
  return false;
}
