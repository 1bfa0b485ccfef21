import { parseDateTime } from './date-time';

describe('parseDateTime', () => {
  it.each([
    ['2026-11-26T10:00:00.000Z', '2026-11-26T10:00:00.000Z'],
    ['2026-11-26T12:00:00+02:00', '2026-11-26T10:00:00.000Z'],
    ['2026-11-26', '2026-11-26T00:00:00.000Z'],
    ['0100-01-01T00:00:00Z', '0100-01-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59Z', '9999-12-31T23:59:59.000Z'],
  ])('takes %p as %p', (value, iso) => {
    expect(parseDateTime(value)?.toISOString()).toBe(iso);
  });

  it.each([
    ['a signed year before PostgreSQL’s range (was a 500)', '-010000-01-01T00:00:00.000Z'],
    ['a signed four-digit year JavaScript cannot read (was a 500)', '+9999-01-01T00:00:00Z'],
    ['a negative year', '-9999-01-01T00:00:00Z'],
    ['year 0', '0000-01-01T00:00:00Z'],
    ['a year JavaScript would read as 1999', '0099-01-01T00:00:00Z'],
    ['a day past its month’s end (JavaScript rolls it over)', '2020-02-30T00:00:00Z'],
    ['not ISO-8601, though JavaScript reads it', 'March 7, 2020'],
    ['a two-digit date JavaScript reads as 2001', '1-01-01'],
    ['not text', 1764151200000],
  ])('refuses %s', (_what, value) => {
    expect(parseDateTime(value)).toBeNull();
  });
});
