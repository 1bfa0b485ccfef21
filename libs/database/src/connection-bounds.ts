import { Client } from 'pg';

/** How long the API and worker wait on PostgreSQL (DATABASE_STATEMENT_TIMEOUT, DATABASE_CONNECT_TIMEOUT). */
export interface DatabaseTimeouts {
  statementMs: number;
  connectMs: number;
}

/**
 * How much longer than statement_timeout the client waits for an answer: a server that runs cancels the
 * statement itself first (a clean error, the connection stays usable); only one that does not answer at
 * all (stopped, unreachable) meets the client's own bound.
 */
export const CLIENT_GRACE_MS = 1000;

/** node-postgres' message when its own query_timeout fires. */
const CLIENT_TIMEOUT_MESSAGE = 'Query read timeout';

/**
 * A pg client that closes its connection when a statement meets the client-side timeout. node-postgres
 * gives up waiting but keeps the connection, with the statement still on the server and whatever
 * transaction it was in still open: handed out again, its next user would wait behind that statement
 * or, worse, run inside the abandoned transaction (a later COMMIT would commit what the first caller
 * was told had failed). Closed, the server rolls that transaction back and the pool connects afresh.
 */
export class StallSafeClient extends Client {}

// eslint-disable-next-line @typescript-eslint/unbound-method -- called with apply(this) below, as a subclass's super.query would be (its overloads cannot be restated)
const query = Client.prototype.query as (this: Client, ...args: unknown[]) => unknown;
StallSafeClient.prototype.query = function (this: StallSafeClient, ...args: unknown[]) {
  const callback = typeof args[args.length - 1] === 'function' ? (args[args.length - 1] as (error: Error | null, ...rest: unknown[]) => void) : undefined;
  const closeOnTimeout = (error: unknown) => {
    if ((error as Error | null)?.message === CLIENT_TIMEOUT_MESSAGE) void this.end().catch(() => undefined);
  };
  if (callback) {
    args[args.length - 1] = (error: Error | null, ...rest: unknown[]) => {
      closeOnTimeout(error);
      callback(error, ...rest);
    };
    return query.apply(this, args);
  }
  const result = query.apply(this, args);
  if (result instanceof Promise) result.catch(closeOnTimeout);
  return result;
} as Client['query'];

/**
 * The pool settings (TypeORM's `extra`) that bound every wait on PostgreSQL: the server's
 * statement_timeout, the client's own read timeout a little beyond it (for a server that does not
 * answer at all), and the connect timeout, which also bounds the wait for a free pooled connection.
 */
export function boundedPoolOptions({ statementMs, connectMs }: DatabaseTimeouts): Record<string, unknown> {
  return {
    Client: StallSafeClient,
    statement_timeout: statementMs,
    query_timeout: statementMs + CLIENT_GRACE_MS,
    connectionTimeoutMillis: connectMs,
  };
}
