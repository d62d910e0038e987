/**
 * A cache bounded both by entry count and by total weight (bytes of a page, ids of a result), so a burst of
 * large answers cannot grow a replica's memory without limit. An entry heavier than the whole budget is not
 * kept. Eviction is least-recently-used by second chance: a hit only marks its entry, and eviction moves a
 * marked entry to the young end instead of dropping it. Moving the entry on every hit (delete + set) would be
 * exact LRU, but at thousands of hits per second that churn of the Map's table was a measurable share of
 * garbage collection.
 */
interface Entry<V> {
  value: V;
  weight: number;
  /** Used since eviction last passed it. */
  used: boolean;
}

export class BoundedCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private total = 0;

  constructor(
    private readonly opts: {
      maxEntries: number;
      maxWeight: number;
      weigh: (v: V) => number;
      /** Called with each value the cache lets go of: evicted, replaced, deleted, cleared or too heavy to keep. */
      dropped?: (v: V) => void;
    },
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get weight(): number {
    return this.total;
  }

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    e.used = true;
    return e.value;
  }

  set(key: string, value: V): void {
    if (this.entries.get(key)?.value === value) this.remove(key);
    else this.delete(key);
    const weight = this.opts.weigh(value);
    if (weight > this.opts.maxWeight) {
      this.opts.dropped?.(value);
      return;
    }
    this.entries.set(key, { value, weight, used: false });
    this.total += weight;
    this.evict(key);
  }

  /** Adds weight to an entry that grew in place (a result sorted in full for a deep page). */
  grow(key: string, extra: number): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.used = true; // growing is a use
    e.weight += extra;
    this.total += extra;
    if (e.weight > this.opts.maxWeight) this.delete(key);
    this.evict(key);
  }

  /**
   * Drops the oldest unused entries until both bounds hold; a used one goes to the young end, unmarked (so at
   * worst every entry moves once). `keep`, the entry just stored, is never the one dropped: alone it fits.
   */
  private evict(keep: string): void {
    for (const [oldest, e] of this.entries) {
      if (this.entries.size <= this.opts.maxEntries && this.total <= this.opts.maxWeight) return;
      if (oldest === keep) continue;
      if (e.used) {
        e.used = false;
        this.entries.delete(oldest);
        this.entries.set(oldest, e);
      } else {
        this.delete(oldest);
      }
    }
  }

  delete(key: string): void {
    const e = this.remove(key);
    if (e) this.opts.dropped?.(e.value);
  }

  clear(): void {
    const values = [...this.entries.values()].map((e) => e.value);
    this.entries.clear();
    this.total = 0;
    if (this.opts.dropped) values.forEach(this.opts.dropped);
  }

  private remove(key: string): Entry<V> | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    this.total -= e.weight;
    return e;
  }
}
