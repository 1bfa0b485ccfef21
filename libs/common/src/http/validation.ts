import { ArgumentMetadata, Injectable, ValidationError, ValidationPipe } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { AppError, ErrorCode, ErrorDetail } from '../errors/app-error';
import { escapeUnstorable, findUnstorable } from '../storable-json';

/**
 * class-validator option for constraints whose failure is a 422 (well-formed but unacceptable value).
 * Everything else (missing, wrong type, bad URL syntax, unknown field) is a 400, as SPEC §5 splits them.
 */
export const UNPROCESSABLE = { context: { status: 422 } } as const;

function isUnprocessable(error: ValidationError, constraint: string): boolean {
  return (error.contexts?.[constraint] as { status?: number } | undefined)?.status === 422;
}

const UNKNOWN_FIELD = 'whitelistValidation';

/** Flattens class-validator errors to one detail per field: structural (400) problems first. */
export function toErrorDetails(errors: ValidationError[], loc: (string | number)[] = ['body']): { status: 400 | 422; detail: ErrorDetail[] } {
  const detail: ErrorDetail[] = [];
  let status: 400 | 422 = 422;
  const visit = (list: ValidationError[], path: (string | number)[]) => {
    for (const error of list) {
      // An unknown key may itself hold NUL or a lone surrogate: an error never echoes those.
      const here = [...path, escapeUnstorable(error.property)];
      const names = Object.keys(error.constraints ?? {});
      const structural = names.filter((name) => !isUnprocessable(error, name));
      const chosen = structural[0] ?? names[0];
      if (chosen) {
        const badRequest = structural.length > 0;
        if (badRequest) status = 400;
        const msg = chosen === UNKNOWN_FIELD ? 'Unknown field' : error.constraints![chosen];
        detail.push({ msg, type: badRequest ? ErrorCode.BadRequest : ErrorCode.Unprocessable, loc: here });
      }
      visit(error.children ?? [], here);
    }
  };
  visit(errors, loc);
  return { status, detail };
}

/**
 * For a field of free-form JSON (event data, custom headers): the value exactly as the client sent
 * it. class-transformer rebuilds nested plain objects and drops keys named like Object.prototype
 * members (constructor, toString, valueOf, __proto__…): data would be stored without them.
 */
export const KeepAsSent = (): PropertyDecorator => Transform(({ obj, key }: { obj: Record<string, unknown>; key: string }) => obj[key]);

class ValidationFailed extends Error {
  constructor(readonly errors: ValidationError[]) {
    super('validation failed');
  }
}

/**
 * The one global ValidationPipe: whitelist + forbidNonWhitelisted + transform, bodies must be JSON
 * objects, and failures become AppErrors in the seed's format with the 400/422 split. Every body,
 * query and path value passes here, so here the API applies the storable-json rule (422 per string,
 * key or too deep value).
 */
@Injectable()
export class AppValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors) => new ValidationFailed(errors),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && metadata.metatype && this.toValidate(metadata)) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new AppError(ErrorCode.BadRequest, [{ msg: 'Request body must be a JSON object', type: ErrorCode.BadRequest, loc: ['body'] }]);
      }
    }
    const where = metadata.type === 'param' ? 'path' : metadata.type;
    const found = metadata.type === 'custom' ? [] : findUnstorable(value, metadata.data === undefined ? [] : [metadata.data]);
    const unstorable = found.map(({ loc, msg }): ErrorDetail => ({ msg, type: ErrorCode.Unprocessable, loc: [where, ...loc] }));
    // The framework's own walk of a too deep body would overflow the stack: refuse before it.
    if (found.some((problem) => problem.tooDeep)) throw new AppError(ErrorCode.Unprocessable, unstorable);
    let transformed: unknown;
    try {
      transformed = await super.transform(value, metadata);
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      const { status, detail } = toErrorDetails(error.errors, [where]);
      throw new AppError(status === 400 ? ErrorCode.BadRequest : ErrorCode.Unprocessable, [...detail, ...unstorable]);
    }
    if (unstorable.length > 0) throw new AppError(ErrorCode.Unprocessable, unstorable);
    return transformed;
  }
}
