import { isISO8601, ValidateBy, ValidationOptions } from 'class-validator';

/**
 * Years 100 to 9999: what every process parses alike and PostgreSQL's timestamptz holds (4713 BC…294276
 * AD); validator's strict check already refuses years 0–99, which JavaScript would shift to 1900–1999.
 */
const FIRST_YEAR = 100;
const LAST_YEAR = 9999;

/**
 * The instant a strict ISO-8601 date-time names, or null. Strict: a real calendar date (no 2020-02-30);
 * and within years 100–9999, as signed and expanded years (`-9999-…`, `+275760-…`) pass ISO-8601 but are
 * NaN to JavaScript or out of PostgreSQL's range (a 500 where a 4xx belongs). The one rule for every
 * date-time a client sends: query windows, recover, an event's timestamp, the CLI's options.
 */
export function parseDateTime(value: unknown): Date | null {
  if (typeof value !== 'string' || !isISO8601(value, { strict: true })) return null;
  const date = new Date(value);
  const year = date.getUTCFullYear();
  return Number.isNaN(date.getTime()) || year < FIRST_YEAR || year > LAST_YEAR ? null : date;
}

/** class-validator: the value is a date-time parseDateTime accepts. */
export const IsDateTime = (options?: ValidationOptions): PropertyDecorator =>
  ValidateBy({ name: 'isDateTime', validator: { validate: (value: unknown) => parseDateTime(value) !== null } }, options);
