import { Hits, type HitPool } from './search-hits.ts';

/** A term's documents and its weight in each, side by side (order does not matter). */
export interface Posting {
  ids: number[];
  weights: number[];
}

/**
 * Scratch space of one query word: by document id, its stamp and its place among the word's matches; by place,
 * the matches' ids and scores (when not gathered straight into hits).
 */
interface Slot {
  stamp: Uint32Array;
  place: Int32Array;
  list: Int32Array;
  score: Float64Array;
}

/** A score added to some documents' totals, once each (the exact-name bonus). */
export interface Bonus {
  ids: ReadonlySet<number>;
  add: number;
}

/** What matching reads of the index. */
export interface MatchDeps {
  posting(term: string): Posting | undefined;
  /** One past the highest document id in use. */
  idLimit(): number;
  /** How many documents there are. */
  live(): number;
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
   * sources (term, weight factor); words are summed smallest match set first, as Redis ZINTERSTORE does, and
   * the bonus added to the total last. One word is gathered straight into the hits; several into their slots,
   * then intersected.
   */
  match(words: [string, number][][], bonus?: Bonus): Hits {
    const mark = ++this.stampCounter;
    if (words.length === 1) {
      const sources = words[0]!;
      const most = sources.reduce((n, [term]) => n + (this.deps.posting(term)?.ids.length ?? 0), 0);
      const out = new Hits(this.deps.pool, Math.min(most, this.deps.live()));
      const slot = this.slot(0);
      out.length = this.gather(sources, slot, mark, out.ids, out.scores);
      // The few documents with a bonus are found by their place, not by looking up every hit.
      for (const id of bonus?.ids ?? [])
        if (slot.stamp[id] === mark) out.scores[slot.place[id]!]! += bonus!.add;
      return out;
    }
    const perWord = words.map((sources, w) => {
      const slot = this.slot(w);
      return { slot, n: this.gather(sources, slot, mark, slot.list, slot.score) };
    });
    perWord.sort((a, b) => a.n - b.n);
    const [first, ...rest] = perWord;
    const out = new Hits(this.deps.pool, first?.n ?? 0);
    if (!first) return out;
    const { ids, scores } = out;
    let k = 0;
    const { list, score } = first.slot;
    next: for (let i = 0; i < first.n; i++) {
      const id = list[i]!;
      let total = score[i]!;
      for (const { slot: w } of rest) {
        if (w.stamp[id] !== mark) continue next;
        total += w.score[w.place[id]!]!;
      }
      ids[k] = id;
      scores[k++] = total;
    }
    out.length = k;
    if (bonus && bonus.ids.size > 0)
      for (let i = 0; i < k; i++) if (bonus.ids.has(ids[i]!)) scores[i]! += bonus.add;
    return out;
  }

  /**
   * One word's matches, each document once (stamped with `mark`) with the best of its sources' weight times
   * factor, written in order into `ids` and `scores`; returns how many. Each document's place there is kept in
   * the slot, so another source of it raises its score in place, and the first word's matches are then read
   * in order, not by id. Typed scratch space reused by every query: growing arrays per word were a third of a
   * query's time at a million versions.
   */
  private gather(
    sources: [string, number][],
    slot: Slot,
    mark: number,
    ids: Int32Array,
    scores: Float64Array,
  ): number {
    const { stamp, place } = slot;
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
          place[id] = n;
          ids[n] = id;
          scores[n++] = s;
        } else if (s > scores[place[id]!]!) scores[place[id]!] = s;
      }
    }
    return n;
  }

  private slot(i: number): Slot {
    let slot = this.slots[i];
    const limit = this.deps.idLimit();
    if (!slot || slot.stamp.length < limit) {
      const size = Math.max(1024, limit * 2);
      slot = {
        stamp: new Uint32Array(size),
        place: new Int32Array(size),
        list: new Int32Array(size),
        score: new Float64Array(size),
      };
      this.slots[i] = slot;
    }
    return slot;
  }
}
