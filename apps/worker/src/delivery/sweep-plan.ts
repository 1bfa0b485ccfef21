import type { SweepCursor } from '@pollarix/database';

/**
 * The sweeper's pure decisions: how long a tick may walk, and what to do with a page of jobs given what
 * Redis holds under their ids.
 */

/** A tick walks for at most this long, however long SWEEPER_INTERVAL is. */
export const MAX_SWEEP_BUDGET_MS = 10_000;

/**
 * How long one tick may walk the overdue items: at most one interval, and never more than
 * MAX_SWEEP_BUDGET_MS. Lost jobs are walked in slices (a tick that re-queued jobs and stopped on its
 * budget is followed by the next at once), so there the budget does not limit the pace; over items whose
 * jobs Redis still holds it sets the pace (the walk runs budget / interval of the time). It also bounds
 * how long the purge (after the walk) waits and how long a shutdown waits for the tick (it stops at the
 * next page anyway).
 */
export const sweepBudgetMs = (intervalMs: number): number => Math.max(1, Math.min(intervalMs, MAX_SWEEP_BUDGET_MS));

/**
 * What Redis holds under a job id, read in one round trip for a whole page (HMGET <job key> timestamp
 * finishedOn, pipelined): nothing (`missing`), a job not finished (`live`: waiting, delayed, active,
 * prioritized, waiting-children — BullMQ clears finishedOn when it moves a job back to wait), or one
 * that finished before `finishedBefore` (`finished`: completed or failed, which getJobState then
 * confirms). A job that finished later counts as live: the row the sweeper read may be older than its
 * finish (the attempt's outcome is written before the job completes); if its delivery is still pending
 * at that attempt once `finishedBefore` has passed it, a later pass replaces it.
 */
export type JobPresence = 'missing' | 'live' | 'finished';

/** One pipelined HMGET's reply ([error, [timestamp, finishedOn]]) as a presence; an error is thrown. */
export function jobPresence(reply: [Error | null, unknown] | undefined, finishedBefore: number): JobPresence {
  if (!reply) throw new Error('Redis answered fewer commands than the pipeline sent');
  const [error, value] = reply;
  if (error) throw error;
  const [timestamp, finishedOn] = (value ?? []) as (string | null)[];
  if (finishedOn !== null && finishedOn !== undefined) return Number(finishedOn) < finishedBefore ? 'finished' : 'live';
  // Every job hash has its timestamp from the moment it is added.
  return timestamp === null || timestamp === undefined ? 'missing' : 'live';
}

/**
 * A page's plan: `add` the jobs Redis does not have, `confirm` the finished ones (their state is read,
 * and a completed or failed job is removed and added again, as before), leave the live ones alone.
 */
export function planRequeue<T>(jobs: T[], presence: JobPresence[]): { add: T[]; confirm: T[]; live: number } {
  if (jobs.length !== presence.length) throw new Error(`${jobs.length} jobs but ${presence.length} presences`);
  const add: T[] = [];
  const confirm: T[] = [];
  let live = 0;
  jobs.forEach((job, i) => {
    if (presence[i] === 'missing') add.push(job);
    else if (presence[i] === 'finished') confirm.push(job);
    else live += 1;
  });
  return { add, confirm, live };
}

/** A stored cursor (JSON) as the walk reads it; anything else (absent, corrupted) starts the walk from the beginning. */
export function parseSweepCursor(stored: string | null): SweepCursor | null {
  if (!stored) return null;
  try {
    const value = JSON.parse(stored) as { at?: unknown; id?: unknown };
    const valid = typeof value?.at === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(value.at) && typeof value.id === 'string';
    return valid ? { at: value.at as string, id: value.id as string } : null;
  } catch {
    return null;
  }
}
