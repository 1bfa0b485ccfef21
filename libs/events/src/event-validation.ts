import { escapeUnstorable, findUnstorable, parseDateTime } from '@pollarix/common';
import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { EVENT_CATALOG, isProducerEventType } from './catalog';
import type { EventInput } from './envelope';

/** Largest accepted serialized event (type, department, data): the API's body limit. */
export const MAX_EVENT_BYTES = 1024 * 1024;
export const EVENT_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
const DEPARTMENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export interface EventProblem {
  msg: string;
  /** Path below the event, e.g. ['data', 'surveyId']. */
  loc: (string | number)[];
}

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const VALIDATORS = new Map<string, ValidateFunction>(EVENT_CATALOG.map((entry) => [entry.type, ajv.compile(entry.schema)]));

export interface ValidateOptions {
  /** The service's own operational events (WEBHOOK_DISABLED) are refused from producers. */
  serviceTypes?: boolean;
  /**
   * The caller has already refused text PostgreSQL cannot store (the API's AppValidationPipe walks every
   * body): the event is not walked a second time.
   */
  storableChecked?: boolean;
}

/** Every problem of an event a producer wants to publish; empty when it may be published. */
export function validateEvent(input: unknown, options: ValidateOptions = {}): EventProblem[] {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return [{ msg: 'An event must be a JSON object', loc: [] }];
  const event = input as Partial<Record<keyof EventInput, unknown>>;
  const problems: EventProblem[] = [];
  const allowed = new Set(['type', 'departmentId', 'data', 'id', 'timestamp']);
  for (const key of Object.keys(event)) if (!allowed.has(key)) problems.push({ msg: 'Unknown field', loc: [escapeUnstorable(key)] });
  // Text PostgreSQL cannot store (NUL, lone surrogates): the rule the API applies to every body.
  if (!options.storableChecked) problems.push(...findUnstorable(event));

  if (typeof event.departmentId !== 'string' || !DEPARTMENT_ID_PATTERN.test(event.departmentId)) {
    problems.push({ msg: 'departmentId is required: letters, digits, _ and -, at most 64', loc: ['departmentId'] });
  }
  if (event.id !== undefined && (typeof event.id !== 'string' || !EVENT_ID_PATTERN.test(event.id))) {
    problems.push({ msg: 'id must be 1 to 64 letters, digits, _ . : or -', loc: ['id'] });
  }
  if (event.timestamp !== undefined && parseDateTime(event.timestamp) === null) {
    problems.push({ msg: 'timestamp must be an ISO-8601 date-time (years 100–9999)', loc: ['timestamp'] });
  }
  const allowedType = typeof event.type === 'string' && (options.serviceTypes || isProducerEventType(event.type));
  const validate = allowedType ? VALIDATORS.get(event.type as string) : undefined;
  if (!validate) {
    const types = EVENT_CATALOG.filter((e) => options.serviceTypes || e.publishedBy === 'producers').map((e) => e.type);
    problems.push({ msg: `type must be one of ${types.join(', ')}`, loc: ['type'] });
  } else if (event.data === null || typeof event.data !== 'object' || Array.isArray(event.data)) {
    problems.push({ msg: 'data must be a JSON object', loc: ['data'] });
  } else if (!validate(event.data)) {
    for (const error of validate.errors ?? []) {
      const path = error.instancePath.split('/').filter(Boolean);
      const missing = error.keyword === 'required' ? [(error.params as { missingProperty: string }).missingProperty] : [];
      problems.push({ msg: `data${error.instancePath.replace(/\//g, '.')} ${error.message ?? 'is invalid'}`, loc: ['data', ...path, ...missing] });
    }
  }
  if (problems.length === 0 && Buffer.byteLength(JSON.stringify(event)) > MAX_EVENT_BYTES) {
    problems.push({ msg: 'An event may be at most 1 MiB', loc: [] });
  }
  return problems;
}
