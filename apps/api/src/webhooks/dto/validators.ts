import { SUBSCRIBABLE_EVENT_TYPES } from '@pollarix/events';
import { UNPROCESSABLE } from '@pollarix/common';
import { isReservedHeader, isTransportHeader, isValidHeaderName, isValidHeaderValue } from '@pollarix/delivery';
import { ValidationArguments, ValidationOptions, registerDecorator } from 'class-validator';

export const MAX_URL_LENGTH = 2048;
export const MAX_HEADERS = 20;
export const MAX_HEADER_VALUE_LENGTH = 4096;
export const MAX_NAME_LENGTH = 100;
const MAX_HEADER_NAME_LENGTH = 256;

function parseAbsoluteUrl(value: unknown): URL | null {
  if (typeof value !== 'string') return null;
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

function rule(name: string, test: (value: unknown) => boolean, message: (args: ValidationArguments) => string, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: String(propertyName),
      options,
      validator: { validate: test, defaultMessage: message },
    });
}

const entries = (value: unknown): [string, unknown][] => (value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value) : []);

/** 400: a string that parses as an absolute URL. */
export const IsAbsoluteUrl = () =>
  rule(
    'isAbsoluteUrl',
    (value) => parseAbsoluteUrl(value) !== null,
    () => 'Invalid URL format',
  );

/** 422: http or https only. */
export const IsHttpUrl = () =>
  rule(
    'isHttpUrl',
    (value) => {
      const url = parseAbsoluteUrl(value);
      return url === null || url.protocol === 'http:' || url.protocol === 'https:';
    },
    () => 'URL scheme must be http or https',
    UNPROCESSABLE,
  );

/** 400: every header value is a string. */
export const HeaderValuesAreStrings = () =>
  rule(
    'headerValuesAreStrings',
    (value) => entries(value).every(([, v]) => typeof v === 'string'),
    (args) =>
      `Header values must be strings (${entries(args.value)
        .filter(([, v]) => typeof v !== 'string')
        .map(([k]) => k)
        .join(', ')})`,
  );

/** 422: names, count, sizes and reserved names of custom headers (SPEC §5). */
export const AcceptableHeaders = () =>
  rule(
    'acceptableHeaders',
    (value) => headerProblem(value) === null,
    (args) => headerProblem(args.value) ?? '',
    UNPROCESSABLE,
  );

export function headerProblem(value: unknown): string | null {
  const list = entries(value);
  if (list.length > MAX_HEADERS) return `At most ${MAX_HEADERS} custom headers are allowed (got ${list.length})`;
  const seen = new Set<string>();
  for (const [name, headerValue] of list) {
    const lower = name.toLowerCase();
    if (name.length > MAX_HEADER_NAME_LENGTH || !isValidHeaderName(name)) return `Invalid header name "${name.slice(0, 100)}"`;
    if (isTransportHeader(name)) return `Header "${name}" is reserved: it controls the HTTP connection or the message's framing`;
    if (isReservedHeader(name)) return `Header "${name}" is reserved: the service sets it on every delivery`;
    if (seen.has(lower)) return `Header "${name}" is given more than once`;
    seen.add(lower);
    if (typeof headerValue === 'string') {
      if (headerValue.length > MAX_HEADER_VALUE_LENGTH) {
        return `Value of header "${name}" is longer than ${MAX_HEADER_VALUE_LENGTH} characters`;
      }
      if (!isValidHeaderValue(headerValue)) return `Value of header "${name}" contains forbidden characters`;
    }
  }
  return null;
}

export const EVENT_TYPES_MESSAGE = `events must only contain subscribable event types: ${SUBSCRIBABLE_EVENT_TYPES.join(', ')}`;

/** 422: not blank (whitespace only). */
export const NotBlank = () =>
  rule(
    'notBlank',
    (value) => typeof value !== 'string' || value.trim().length > 0,
    (args) => `${args.property} must not be blank`,
    UNPROCESSABLE,
  );
