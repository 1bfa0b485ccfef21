import type { FailureStreak } from '@pollarix/database';

/** When a webhook whose deliveries keep failing is disabled (AUTO_DISABLE_AFTER, AUTO_DISABLE_MIN_FAILURES). */
export interface AutoDisablePolicy {
  minFailures: number;
  afterMs: number;
}

/**
 * SPEC §7: a webhook's current streak of failed deliveries (no success in between) disables it once it
 * counts at least `minFailures` and spans at least `afterMs` (from its earliest failed delivery's creation).
 */
export function shouldAutoDisable(streak: FailureStreak, policy: AutoDisablePolicy, now: number = Date.now()): boolean {
  return streak.failures >= policy.minFailures && streak.failingSince.getTime() <= now - policy.afterMs;
}
