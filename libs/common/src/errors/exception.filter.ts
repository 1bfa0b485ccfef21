import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { UnsealError } from '../crypto/secret-box';
import { AppError, ErrorCode } from './app-error';
import { DATABASE_RETRY_AFTER_S, isDatabaseUnavailable } from './database-unavailable';

/** Errors raised by body-parser before any route runs carry a `type` and a `status`. */
interface BodyParserError {
  type?: string;
  status?: number;
}

/** Maps anything thrown to an AppError, so that every response uses the one error format. */
export function toAppError(exception: unknown, req?: Request): AppError {
  if (exception instanceof AppError) return exception;
  const parserError = exception as BodyParserError;
  switch (parserError?.type) {
    case 'entity.parse.failed':
      return new AppError(ErrorCode.BadRequest, [{ msg: 'Request body is not valid JSON', type: ErrorCode.BadRequest, loc: ['body'] }]);
    case 'entity.too.large':
      return new AppError(ErrorCode.PayloadTooLarge, 'Request body is larger than 1 MiB');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError(ErrorCode.UnsupportedMediaType, 'Unsupported body encoding or charset');
    case 'request.aborted':
    case 'request.size.invalid':
      return new AppError(ErrorCode.BadRequest, 'Request body was incomplete');
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === 404) {
      return AppError.notFound(req ? `No route for ${req.method} ${req.path}` : 'Not found');
    }
    if (status === 405) return AppError.notFound('Method not allowed');
    if (status === 413) return new AppError(ErrorCode.PayloadTooLarge, 'Request body is larger than 1 MiB');
    // Nest maps body-parser's SyntaxError and Express's URIError (bad %-encoding in the path) to a 400.
    if (status === 400) {
      return exception.message.startsWith('Failed to decode')
        ? new AppError(ErrorCode.BadRequest, [{ msg: 'Malformed percent-encoding in the path', type: ErrorCode.BadRequest, loc: ['path'] }])
        : new AppError(ErrorCode.BadRequest, [{ msg: 'Request body is not valid JSON', type: ErrorCode.BadRequest, loc: ['body'] }]);
    }
  }
  if (isDatabaseUnavailable(exception)) {
    return new AppError(ErrorCode.Unavailable, 'The database is not answering; retry shortly', { 'Retry-After': String(DATABASE_RETRY_AFTER_S) });
  }
  if (exception instanceof UnsealError) {
    // An operator removed a key while values sealed under it remained (`cli secrets re-encrypt` names them).
    return new AppError(
      ErrorCode.Conflict,
      'A value stored for this request was encrypted with a key this service no longer has; set it again (a webhook: PUT its headers, rotate its secret)',
    );
  }
  return new AppError(ErrorCode.Internal, 'Internal server error');
}

@Catch()
export class AppExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Exceptions');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request>();
    const res = ctx.getResponse<Response>();
    const error = toAppError(exception, req);
    if (error.code === ErrorCode.Unavailable && !(exception instanceof AppError)) {
      // Operators see why (the driver's message); the client sees the 503 and its Retry-After.
      this.logger.warn(
        `Database unavailable on ${req.method} ${req.path} (request ${String(req.headers['x-request-id'])}): ${(exception as Error)?.message ?? exception}`,
      );
    }
    if (exception instanceof UnsealError) {
      this.logger.warn(`Undecryptable stored value on ${req.method} ${req.path} (request ${String(req.headers['x-request-id'])}): ${exception.message}`);
    }
    if (error.code === ErrorCode.Internal) {
      this.logger.error(
        `Unexpected error on ${req.method} ${req.path} (request ${String(req.headers['x-request-id'])})`,
        exception instanceof Error ? exception.stack : String(exception),
      );
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
    res.status(error.status).json(error.toBody());
  }
}
