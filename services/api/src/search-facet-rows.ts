/**
 * Facet values of a document, interned, in a fixed-width row (-1 pads): catalog, catalogName, maintainer, up to
 * three artifact kinds, up to two channels.
 */
export const FACET_ROW = 8;

/**
 * Each document's facet row, interned: documents share rows (every profile of a catalog by one maintainer with
 * the same kinds has the same one), so a document holds only the number of its row. Counting the facets of
 * thousands of matches then reads four bytes per match and adds each distinct row's count once, where reading a
 * 32-byte row per match was a cache miss per match at a million versions. A row no document holds any more is
 * freed and its number reused.
 */
export class FacetRows {
  private rowOf = new Int32Array(0); // by document id, -1: none
  private rows = new Int32Array(0); // FACET_ROW values per row number
  private readonly holders: number[] = []; // documents holding each row number
  private readonly numbers = new Map<string, number>();
  private readonly free: number[] = [];
  private tally = new Int32Array(0); // scratch of countAll: matches per row number
  private touched = new Int32Array(0); // scratch of countAll: the row numbers met

  /** How many distinct rows documents hold. */
  get distinct(): number {
    return this.numbers.size;
  }

  /** Makes room for document ids below `size`. */
  grow(size: number): void {
    if (size <= this.rowOf.length) return;
    const rowOf = new Int32Array(size).fill(-1);
    rowOf.set(this.rowOf);
    this.rowOf = rowOf;
  }

  /** Gives the document the row of facet value ids `values` (at most FACET_ROW are kept). */
  set(id: number, values: readonly number[]): void {
    this.clear(id);
    const kept = values.length > FACET_ROW ? values.slice(0, FACET_ROW) : values;
    const key = kept.join(','); // as keyOf() makes it from the stored row
    let n = this.numbers.get(key);
    if (n === undefined) {
      n = this.free.pop() ?? this.holders.length;
      if (n === this.holders.length) this.holders.push(0);
      this.numbers.set(key, n);
      if ((n + 1) * FACET_ROW > this.rows.length) {
        const rows = new Int32Array(Math.max(64, (n + 1) * 2) * FACET_ROW);
        rows.set(this.rows);
        this.rows = rows;
      }
      this.rows.fill(-1, n * FACET_ROW, (n + 1) * FACET_ROW);
      for (let j = 0; j < kept.length; j++) this.rows[n * FACET_ROW + j] = kept[j]!;
    }
    this.holders[n]!++;
    this.rowOf[id] = n;
  }

  /** Takes the document's row away (it then has no facet values). */
  clear(id: number): void {
    const n = this.rowOf[id]!;
    if (n < 0) return;
    this.rowOf[id] = -1;
    if (--this.holders[n]! > 0) return;
    this.numbers.delete(this.keyOf(n));
    this.free.push(n);
  }

  /** The key of row number `n`: its values before the padding, as set() keys them. */
  private keyOf(n: number): string {
    const values: number[] = [];
    for (let j = n * FACET_ROW; j < (n + 1) * FACET_ROW && this.rows[j]! >= 0; j++)
      values.push(this.rows[j]!);
    return values.join(',');
  }

  /** The document's facet row as it is now (a copy; all -1 for a document without one). */
  rowAt(id: number): Int32Array {
    const n = this.rowOf[id] ?? -1;
    return n < 0 ? new Int32Array(FACET_ROW).fill(-1) : this.numbered(n);
  }

  private numbered(n: number): Int32Array {
    return this.rows.slice(n * FACET_ROW, (n + 1) * FACET_ROW);
  }

  /** Whether the document has facet value `f`. */
  has(id: number, f: number): boolean {
    const n = this.rowOf[id]!;
    if (n < 0) return false;
    for (let j = n * FACET_ROW; j < (n + 1) * FACET_ROW; j++) if (this.rows[j] === f) return true;
    return false;
  }

  /** Adds `times` to `counts[f]` for every facet value `f` of the document. */
  count(id: number, counts: Int32Array, times = 1): void {
    const n = this.rowOf[id]!;
    if (n >= 0) this.countRow(n, counts, times);
  }

  /** count() for every document of `ids`: matches are tallied by row first, then each row counted once. */
  countAll(ids: ArrayLike<number>, counts: Int32Array): void {
    if (this.tally.length < this.holders.length) {
      this.tally = new Int32Array(this.holders.length * 2);
      this.touched = new Int32Array(this.holders.length * 2);
    }
    const { rowOf, tally, touched } = this;
    let met = 0;
    for (let i = 0; i < ids.length; i++) {
      const n = rowOf[ids[i]!]!;
      if (n >= 0 && tally[n]!++ === 0) touched[met++] = n;
    }
    for (let i = 0; i < met; i++) {
      const n = touched[i]!;
      this.countRow(n, counts, tally[n]!);
      tally[n] = 0;
    }
  }

  private countRow(n: number, counts: Int32Array, times: number): void {
    const rows = this.rows;
    for (let j = n * FACET_ROW; j < (n + 1) * FACET_ROW; j++) {
      const f = rows[j]!;
      if (f < 0) return;
      counts[f]! += times;
    }
  }
}
