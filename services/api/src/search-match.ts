import { Hits, type HitPool } from './search-hits.ts';

/** A term's documents and its weight in each, side by side (order does not matter). */
export interface Posting {
  ids: number[];
  weights: number[];
}

/** Scratch space of one query word: stamps and scores by document id, and the ids matched, in order. */
interface Slot {
  stamp: Uint32Array;
  score: Float64Array;
  list: Int32Array;
}

/** What matching reads of the index. */
export interface MatchDeps {
  posting(term: string): Posting | undefined;
  /** One past the highest document id in use. */
  idLimit(): number;
  pool: HitPool;
}

/**
 * Matching of query words over the index's postings, in scratch space reused by every query: one slot per
 * query word, whose stamp array tells this query's entries from older ones, so nothing is cleared between
 * queries.
 */
export class Matcher {
  private readonly slots: Slot[] = [];
  private stampCounter = 0;

  constructor(private readonly deps: MatchDeps) {}

  /**
   * The documents matching every word, with summed scores. A word's score in a document is the best of its
   * sources (term, weight factor); words are summed smallest match set first, as Redis ZINTERSTORE does.
   */
  match(words: [string, number][][]): Hits {
    const mark = ++this.stampCounter;
    const perWord = words.map((sources, w) => this.gather(sources, this.slot(w), mark));
    perWord.sort((a, b) => a.n - b.n);
    const [first, ...rest] = perWord;
    const out = new Hits(this.deps.pool, first?.n ?? 0);
    if (!first) return out;
    const { ids, scores } = out;
    let k = 0;
    const { list, n, score } = first;
    next: for (let i = 0; i < n; i++) {
      const id = list[i]!;
      let total = score[id]!;
      for (const w of rest) {
        if (w.stamp[id] !== mark) continue next;
        total += w.score[id]!;
      }
      ids[k] = id;
      scores[k++] = total;
    }
    out.length = k;
    return out;
  }

  /**
   * One word's matches into its slot: each document once (stamped with `mark`), with the best of its sources'
   * weight times factor, listed in the slot's `list` (its first `n`). Typed scratch space reused by every
   * query: growing arrays per word were a third of a query's time at a million versions.
   */
  private gather(sources: [string, number][], slot: Slot, mark: number): Slot & { n: number } {
    const { stamp, score, list } = slot;
    let n = 0;
    for (const [term, factor] of sources) {
      const p = this.deps.posting(term);
      if (!p) continue;
      const pIds = p.ids;
      const pWeights = p.weights;
      for (let j = 0; j < pIds.length; j++) {
        const id = pIds[j]!;
        const s = pWeights[j]! * factor;
        if (stamp[id] !== mark) {
          stamp[id] = mark;
          score[id] = s;
          list[n++] = id;
        } else if (s > score[id]!) score[id] = s;
      }
    }
    return { stamp, score, list, n };
  }

  private slot(i: number): Slot {
    let slot = this.slots[i];
    const limit = this.deps.idLimit();
    if (!slot || slot.stamp.length < limit) {
      const size = Math.max(1024, limit * 2);
      slot = { stamp: new Uint32Array(size), score: new Float64Array(size), list: new Int32Array(size) };
      this.slots[i] = slot;
    }
    return slot;
  }
}
