import { QueryFailedError } from 'typeorm';
import { AppError, ErrorCode } from './app-error';
import { isDatabaseUnavailable } from './database-unavailable';
import { toAppError } from './exception.filter';

const pgError = (code: string, message = 'server said no') => Object.assign(new Error(message), { code });
const wrapped = (driverError: Error) => new QueryFailedError('SELECT 1', [], driverError);

describe('isDatabaseUnavailable', () => {
  it.each([
    ['the client-side read timeout (a server that does not answer)', wrapped(new Error('Query read timeout'))],
    ['no pooled connection in time', new Error('timeout exceeded when trying to connect')],
    ['a new connection whose handshake timed out', new Error('Connection terminated due to connection timeout', { cause: new Error('timeout expired') })],
    ['a connection that went away mid-statement', wrapped(new Error('Connection terminated unexpectedly'))],
    ['a statement on a client closed meanwhile', wrapped(new Error('Client was closed and is not queryable'))],
    ['statement_timeout cancelled it (57014)', wrapped(pgError('57014', 'canceling statement due to statement timeout'))],
    ['the server shutting down (57P01)', wrapped(pgError('57P01'))],
    ['the server starting up (57P03)', pgError('57P03', 'the database system is starting up')],
    ['too many connections (53300)', pgError('53300')],
    ['a connection exception (class 08)', wrapped(pgError('08006'))],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
  ])('yes: %s', (_, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation', wrapped(pgError('23505'))],
    ['a value PostgreSQL cannot store (class 22)', wrapped(pgError('22P05', 'unsupported Unicode escape sequence'))],
    ['a deadlock', wrapped(pgError('40P01'))],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a domain error', AppError.notFound('No webhook')],
    ['not an error at all', 'Query read timeout'],
    ['nothing', undefined],
  ])('no: %s', (_, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});

describe('toAppError and an unavailable database', () => {
  it('answers 503 service_unavailable with Retry-After, and does not show the driver message', () => {
    const error = toAppError(wrapped(new Error('Query read timeout')));
    expect(error.status).toBe(503);
    expect(error.code).toBe(ErrorCode.Unavailable);
    expect(error.headers['Retry-After']).toMatch(/^\d+$/);
    expect(error.toBody()).toEqual({ status: 503, detail: [{ msg: expect.not.stringContaining('Query read timeout'), type: 'service_unavailable' }] });
  });

  it('leaves other database errors to the 500 they were', () => {
    expect(toAppError(wrapped(pgError('23505'))).status).toBe(500);
  });
});
