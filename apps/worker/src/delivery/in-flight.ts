/**
 * Attempts in flight per webhook in this process. A receiver that hangs until the timeout, or fails
 * slowly, can hold at most `limit` of the worker's slots; the rest keep serving healthy receivers.
 */
export class InFlightLimiter {
  private readonly counts = new Map<string, number>();

  constructor(private readonly limit: number) {}

  tryAcquire(key: string): boolean {
    const count = this.counts.get(key) ?? 0;
    if (count >= this.limit) return false;
    this.counts.set(key, count + 1);
    return true;
  }

  release(key: string): void {
    const count = (this.counts.get(key) ?? 1) - 1;
    if (count <= 0) this.counts.delete(key);
    else this.counts.set(key, count);
  }

  current(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}

/** Why an attempt did not start now: its webhook's or department's slots are taken, or the worker's body bytes. */
export type ThrottleReason = 'webhook' | 'department' | 'memory';

/**
 * A worker's attempt slots, shared fairly: one webhook holds at most `perWebhook`, one department (all
 * its webhooks together) at most `perDepartment`. A tenant whose receivers all hang keeps the rest free
 * for the others; BullMQ's concurrency bounds the total.
 */
export class AttemptSlots {
  private readonly webhooks: InFlightLimiter;
  private readonly departments: InFlightLimiter;

  constructor(limits: { perWebhook: number; perDepartment: number }) {
    this.webhooks = new InFlightLimiter(limits.perWebhook);
    this.departments = new InFlightLimiter(limits.perDepartment);
  }

  /** Takes a slot of both, or neither: null when taken, else which limit refused it. */
  tryAcquire(departmentId: string, webhookId: string): ThrottleReason | null {
    if (!this.webhooks.tryAcquire(webhookId)) return 'webhook';
    if (!this.departments.tryAcquire(departmentId)) {
      this.webhooks.release(webhookId);
      return 'department';
    }
    return null;
  }

  release(departmentId: string, webhookId: string): void {
    this.webhooks.release(webhookId);
    this.departments.release(departmentId);
  }

  current(departmentId: string, webhookId: string): { webhook: number; department: number } {
    return { webhook: this.webhooks.current(webhookId), department: this.departments.current(departmentId) };
  }
}

const THROTTLE_BASE_MS = 250;
const THROTTLE_MAX_MS = 5_000;

/**
 * How long a throttled job waits before it asks for a slot again: 250 ms, doubling each time it finds
 * none (up to 5 s), ±50 % jitter so that a crowd of throttled jobs does not come back together. A job
 * throttled for long costs a Redis round trip every few seconds, not a busy loop.
 */
export function throttleDelay(timesThrottled: number, random: () => number = Math.random): number {
  const base = Math.min(THROTTLE_MAX_MS, THROTTLE_BASE_MS * 2 ** Math.min(Math.max(0, timesThrottled), 10));
  return Math.round(base * (0.5 + random()));
}

/**
 * Bytes of request bodies in flight in this process. Events may be up to 1 MiB: a burst of large ones
 * at full concurrency would otherwise hold WORKER_CONCURRENCY bodies at once, beyond the worker's heap.
 * A body larger than the whole budget still goes, alone.
 */
export class ByteBudget {
  private used = 0;

  constructor(private readonly limit: number) {}

  tryAcquire(bytes: number): boolean {
    if (this.used > 0 && this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }

  get inUse(): number {
    return this.used;
  }
}
