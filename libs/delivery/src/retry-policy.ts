/** Spread of the uniform jitter around each scheduled delay (SPEC §7: ±20%). */
export const RETRY_JITTER = 0.2;

/** Upper bound on how far a receiver's Retry-After may push the next attempt (SPEC §7: 24 h). */
export const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;

/**
 * Delay before the next attempt, or null when the schedule is exhausted.
 * `attemptNumber` counts the attempts already made (1 after the first), so schedule[0] is the
 * wait between the first and second attempt; jitter keeps retries to one receiver from bunching.
 */
export function nextAttemptDelay(schedule: readonly number[], attemptNumber: number, random: () => number = Math.random): number | null {
  if (!Number.isInteger(attemptNumber) || attemptNumber < 1 || attemptNumber > schedule.length) return null;
  const base = schedule[attemptNumber - 1];
  const factor = 1 + (random() * 2 - 1) * RETRY_JITTER;
  return Math.max(0, Math.round(base * factor));
}

/** The next delay stretched to honour the receiver's Retry-After, which is capped so it cannot park a delivery forever. */
export function applyRetryAfter(delayMs: number, retryAfterMs: number | null, capMs: number = MAX_RETRY_AFTER_MS): number {
  if (retryAfterMs === null) return delayMs;
  return Math.max(delayMs, Math.min(Math.max(0, retryAfterMs), capMs));
}
