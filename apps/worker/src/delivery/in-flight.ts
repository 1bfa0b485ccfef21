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
