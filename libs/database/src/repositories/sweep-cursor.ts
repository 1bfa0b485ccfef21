/**
 * A position in a keyset walk (the sweeper's, recover's pages): a timestamptz as exact text (microseconds, UTC; a JS Date
 * would drop the microseconds and the walk would stall on rows sharing one millisecond) and the row's id.
 */
export interface SweepCursor {
  at: string;
  id: string;
}

/** A timestamptz column as text that PostgreSQL reads back to the same microsecond. */
export const SWEEP_KEY = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
