import { AppError, ErrorCode } from '@pollarix/common';
import { DELIVERY_STATUSES, DeliveryStatus, HourlyAttempts, HourlyDeliveryCount } from '@pollarix/database';

/** The stats' bucket: one UTC hour. */
export const BUCKET_MS = 3_600_000;
/** The window when no `since` is given: the last 24 hours. */
const DEFAULT_WINDOW_MS = 24 * BUCKET_MS;
/** How far back `since` may go (a console's week at most; each hour is one bucket). */
export const MAX_WINDOW_MS = 7 * 24 * BUCKET_MS;

export interface StatsWindow {
  /** The start of the UTC hour containing the requested `since`. */
  since: Date;
  until: Date;
}

export interface StatsBucket {
  start: string;
  deliveries: Record<DeliveryStatus, number>;
  attempts: number;
  latencyMs: { p50: number; p95: number } | null;
}

const sinceError = (msg: string) => AppError.field(ErrorCode.Unprocessable, ['query', 'since'], msg);

export const floorToHour = (at: Date): Date => new Date(Math.floor(at.getTime() / BUCKET_MS) * BUCKET_MS);

/** The window a request asks for (`since` already an ISO-8601 date-time, or absent), or a 422 naming `since`. */
export function statsWindow(since: string | undefined, now: Date): StatsWindow {
  const requested = since === undefined ? new Date(now.getTime() - DEFAULT_WINDOW_MS) : new Date(since);
  if (Number.isNaN(requested.getTime())) throw sinceError('since must be an ISO-8601 date-time');
  if (requested.getTime() > now.getTime()) throw sinceError('since must not be in the future');
  if (now.getTime() - requested.getTime() > MAX_WINDOW_MS) throw sinceError('since must be at most 7 days ago');
  return { since: floorToHour(requested), until: now };
}

/** Every hour of the window in order, each with its counts (zeros for an hour without rows); rows outside the window are ignored. */
export function fillBuckets(window: StatsWindow, deliveries: HourlyDeliveryCount[], attempts: HourlyAttempts[]): StatsBucket[] {
  const buckets: StatsBucket[] = [];
  const byStart = new Map<number, StatsBucket>();
  for (let start = window.since.getTime(); start <= window.until.getTime(); start += BUCKET_MS) {
    const bucket: StatsBucket = {
      start: new Date(start).toISOString(),
      deliveries: Object.fromEntries(DELIVERY_STATUSES.map((status) => [status, 0])) as Record<DeliveryStatus, number>,
      attempts: 0,
      latencyMs: null,
    };
    buckets.push(bucket);
    byStart.set(start, bucket);
  }
  // The rows are as hourlyStats' SQL returns them: one per hour and status, one per hour with its
  // attempts; counts are ::int and the percentiles of an integer column are integers, never null.
  for (const row of deliveries) {
    const bucket = byStart.get(row.hour.getTime());
    if (bucket) bucket.deliveries[row.status] = row.count;
  }
  for (const row of attempts) {
    const bucket = byStart.get(row.hour.getTime());
    if (!bucket) continue;
    bucket.attempts = row.attempts;
    bucket.latencyMs = { p50: row.p50Ms, p95: row.p95Ms };
  }
  return buckets;
}
