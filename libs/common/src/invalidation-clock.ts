/**
 * Tells a cache whether a load raced an invalidation, so that it does not keep what it read before a
 * write. A load takes `start()` before it reads; once it has its value, `fresh(group, since)` is true
 * when nothing invalidated that group (or everything) meanwhile. Groups are what invalidations name (a
 * department): a load need not know its group when it starts.
 */
export class InvalidationClock<G> {
  private now = 0;
  private allAt = 0;
  private readonly groups = new Map<G, number>();

  /** @param maxGroups groups remembered; past it they are forgotten at once, as an invalidation of everything for the loads in flight. */
  constructor(private readonly maxGroups = 10_000) {}

  /** The time to give `fresh` once the load has its value; take it before reading. */
  start(): number {
    return this.now;
  }

  invalidate(group: G): void {
    this.groups.delete(group);
    this.groups.set(group, ++this.now);
    if (this.groups.size > this.maxGroups) this.invalidateAll();
  }

  invalidateAll(): void {
    this.allAt = ++this.now;
    this.groups.clear();
  }

  /** True when neither `group` (when given) nor everything was invalidated since `since`. */
  fresh(group: G | undefined, since: number): boolean {
    if (this.allAt > since) return false;
    return group === undefined || (this.groups.get(group) ?? 0) <= since;
  }
}
