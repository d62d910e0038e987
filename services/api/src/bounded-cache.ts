/**
 * A least-recently-used cache bounded both by entry count and by total weight (bytes of a page, ids of a
 * result), so a burst of large answers cannot grow a replica's memory without limit. An entry heavier than the
 * whole budget is not kept.
 */
export class BoundedCache<V> {
  private readonly entries = new Map<string, { value: V; weight: number }>();
  private total = 0;

  constructor(private readonly opts: { maxEntries: number; maxWeight: number; weigh: (v: V) => number }) {}

  get size(): number {
    return this.entries.size;
  }

  get weight(): number {
    return this.total;
  }

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e); // most recently used last
    return e.value;
  }

  set(key: string, value: V): void {
    this.delete(key);
    const weight = this.opts.weigh(value);
    if (weight > this.opts.maxWeight) return;
    this.entries.set(key, { value, weight });
    this.total += weight;
    this.evict();
  }

  /** Adds weight to an entry that grew in place (a result sorted in full for a deep page). */
  grow(key: string, extra: number): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.entries.set(key, e); // growing is a use: most recently used last
    e.weight += extra;
    this.total += extra;
    if (e.weight > this.opts.maxWeight) this.delete(key);
    this.evict();
  }

  /** Drops least recently used entries until both bounds hold. */
  private evict(): void {
    for (const [oldest] of this.entries) {
      if (this.entries.size <= this.opts.maxEntries && this.total <= this.opts.maxWeight) return;
      this.delete(oldest);
    }
  }

  delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.total -= e.weight;
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
  }
}
