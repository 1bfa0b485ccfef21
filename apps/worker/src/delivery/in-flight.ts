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
