/** A document changed since some epoch, with the facet row it had then (undefined: its id was free). */
export interface DocChange {
  id: number;
  before: Int32Array | undefined;
}

/** Changes remembered at most: a result older than these is computed again. */
const CHANGES_MAX = 8192;

/**
 * The ids of the search index's documents put or removed, in order, the oldest dropped beyond CHANGES_MAX, each
 * with the facet row it had just before (none for a new id): a result computed at an `epoch` is brought up to
 * date by taking out the changed documents it held and putting in those that match now (search-result-update.ts).
 */
export class ChangeLog {
  private ids: number[] = [];
  private rows: (Int32Array | undefined)[] = [];
  private base = 0;

  /** How many changes there have been. */
  get epoch(): number {
    return this.base + this.ids.length;
  }

  record(id: number, before: Int32Array | undefined): void {
    this.ids.push(id);
    this.rows.push(before);
    if (this.ids.length <= CHANGES_MAX) return;
    const drop = this.ids.length >> 1;
    this.ids = this.ids.slice(drop);
    this.rows = this.rows.slice(drop);
    this.base += drop;
  }

  /**
   * The documents changed since `epoch`, each once, with the facet row it had at `epoch` (undefined: its id was
   * free then); undefined when the changes are no longer all remembered.
   */
  since(epoch: number): DocChange[] | undefined {
    if (epoch < this.base) return undefined;
    const seen = new Set<number>();
    const out: DocChange[] = [];
    for (let i = epoch - this.base; i < this.ids.length; i++) {
      const id = this.ids[i]!;
      if (seen.has(id)) continue; // its first change since `epoch` holds the row it had then
      seen.add(id);
      out.push({ id, before: this.rows[i] });
    }
    return out;
  }
}
