/** One problem in an error response: the seed's `detail` item. */
export interface ErrorDetail {
  msg: string;
  type: string;
  loc?: (string | number)[];
}

/** The error body every route answers with (the seed reference's format). */
export interface ErrorBody {
  status: number;
  detail: ErrorDetail[];
}

/** What went wrong, as code; the only mapping to HTTP status is STATUS_BY_CODE below. */
export enum ErrorCode {
  BadRequest = 'validation_error',
  Unprocessable = 'value_error',
  BlockedDestination = 'blocked_destination',
  Unauthorized = 'unauthorized',
  Forbidden = 'forbidden',
  CsrfFailed = 'csrf_failed',
  PlanLimit = 'plan_limit',
  NotFound = 'not_found',
  Conflict = 'conflict',
  PayloadTooLarge = 'payload_too_large',
  UnsupportedMediaType = 'unsupported_media_type',
  RateLimited = 'rate_limited',
  DeliveryFailed = 'delivery_failed',
  Unavailable = 'service_unavailable',
  Internal = 'internal_error',
}

export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  [ErrorCode.BadRequest]: 400,
  [ErrorCode.Unprocessable]: 422,
  [ErrorCode.BlockedDestination]: 422,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.CsrfFailed]: 403,
  [ErrorCode.PlanLimit]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.UnsupportedMediaType]: 415,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.DeliveryFailed]: 502,
  [ErrorCode.Unavailable]: 503,
  [ErrorCode.Internal]: 500,
};

/**
 * A domain error: code decides the status, details carry one item per problem, headers are added to
 * the response (Retry-After, WWW-Authenticate…). Thrown by services and guards; rendered by one filter.
 */
export class AppError extends Error {
  readonly details: ErrorDetail[];

  constructor(
    readonly code: ErrorCode,
    details: string | ErrorDetail[],
    readonly headers: Record<string, string> = {},
  ) {
    const list = typeof details === 'string' ? [{ msg: details, type: code }] : details;
    super(list.map((d) => d.msg).join('; '));
    this.details = list;
  }

  get status(): number {
    return STATUS_BY_CODE[this.code];
  }

  /** A single-field error with its location, e.g. field(ErrorCode.Unprocessable, ['body', 'id'], '…'). */
  static field(code: ErrorCode, loc: (string | number)[], msg: string): AppError {
    return new AppError(code, [{ msg, type: code, loc }]);
  }

  static notFound(msg: string): AppError {
    return new AppError(ErrorCode.NotFound, msg);
  }

  static unauthorized(msg: string): AppError {
    return new AppError(ErrorCode.Unauthorized, msg, { 'WWW-Authenticate': 'Bearer realm="pollarix"' });
  }

  static forbidden(msg: string): AppError {
    return new AppError(ErrorCode.Forbidden, msg);
  }

  toBody(): ErrorBody {
    return { status: this.status, detail: this.details };
  }
}
