/**
 * A result's hits: document ids and scores side by side in typed arrays, the first `length` in use, taken from a
 * HitPool and given back to it when the result is dropped. At a million versions a query matches tens of
 * thousands of profiles; two fresh plain arrays that long per query were a third of its time (arrays past
 * 128 KB are each mapped, faulted in and unmapped by V8), and fresh typed arrays as long made V8 mark the whole
 * heap every few hundred queries for the outside memory they took. Reused, they cost a copy.
 */
export class Hits {
  ids: Int32Array;
  scores: Float64Array;
  length = 0;

  constructor(
    private readonly pool: HitPool,
    capacity = 0,
  ) {
    ({ ids: this.ids, scores: this.scores } = pool.take(capacity));
  }

  push(id: number, score: number): void {
    if (this.length === this.ids.length) this.grow(this.length + 1);
    this.ids[this.length] = id;
    this.scores[this.length++] = score;
  }

  /** Takes out the hit at `i`; the last takes its place (order within a result does not matter). */
  removeAt(i: number): void {
    const last = --this.length;
    this.ids[i] = this.ids[last]!;
    this.scores[i] = this.scores[last]!;
  }

  indexOf(id: number): number {
    for (let i = 0; i < this.length; i++) if (this.ids[i] === id) return i;
    return -1;
  }

  /** The ids in use, as a view (no copy). */
  idView(): Int32Array {
    return this.ids.subarray(0, this.length);
  }

  /** The scores in use, as a view (no copy). */
  scoreView(): Float64Array {
    return this.scores.subarray(0, this.length);
  }

  /** Gives the arrays back to the pool; the hits are empty after, and nothing may read the old arrays. */
  release(): void {
    this.pool.give(this.ids, this.scores);
    this.ids = EMPTY_IDS;
    this.scores = EMPTY_SCORES;
    this.length = 0;
  }

  private grow(capacity: number): void {
    const { ids, scores } = this.pool.take(capacity);
    ids.set(this.ids.subarray(0, this.length));
    scores.set(this.scores.subarray(0, this.length));
    this.pool.give(this.ids, this.scores);
    this.ids = ids;
    this.scores = scores;
  }
}

const EMPTY_IDS = new Int32Array(0);
const EMPTY_SCORES = new Float64Array(0);
/** The smallest capacity given out: smaller results are common and cheap, one size keeps them reusable. */
const MIN_CAPACITY = 256;

/**
 * Arrays for Hits by capacity (powers of two), at most `maxBytes` of them kept free: what a replica keeps for
 * reuse is bounded beside the results themselves (search-mirror.ts bounds those).
 */
export class HitPool {
  private readonly free = new Map<number, { ids: Int32Array; scores: Float64Array }[]>();
  private freeBytes = 0;

  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  /** Bytes of arrays kept free for reuse. */
  get bytes(): number {
    return this.freeBytes;
  }

  take(capacity: number): { ids: Int32Array; scores: Float64Array } {
    let size = MIN_CAPACITY;
    while (size < capacity) size *= 2;
    const kept = this.free.get(size)?.pop();
    if (kept) {
      this.freeBytes -= size * 12;
      return kept;
    }
    return { ids: new Int32Array(size), scores: new Float64Array(size) };
  }

  give(ids: Int32Array, scores: Float64Array): void {
    const size = ids.length;
    const unusual = size < MIN_CAPACITY || (size & (size - 1)) !== 0 || scores.length !== size;
    if (unusual || this.freeBytes + size * 12 > this.maxBytes) return;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push({ ids, scores });
    this.freeBytes += size * 12;
  }
}
