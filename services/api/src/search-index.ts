import { oneEditStrings, parseProfileNameMember, type SearchDocument } from '@profiles/shared';
import { ChangeLog, type DocChange } from './search-changes.ts';
import { FACET_ROW, FacetRows } from './search-facet-rows.ts';
import { HitPool, Hits } from './search-hits.ts';
import { Matcher, type Bonus, type Posting } from './search-match.ts';

export type { DocChange } from './search-changes.ts';

/** What the mirror keeps of one profile in one catalog (ids are small integers, reused after removal). */
export interface Doc {
  member: string;
  sourceId: string;
  name: string;
  terms: string[];
  versions: string[];
}

/**
 * Facet rows (search-facet-rows.ts), last-change times and member order are kept by document id in typed
 * arrays, so scanning thousands of matches stays in a few contiguous blocks.
 */
const RANK_GAP = 1024;

/** Words whose one-edit terms are remembered at most (a few terms each). */
const TYPO_MEMO_MAX = 10_000;

/**
 * The search indexes of the catalog, in memory: term postings over integer document ids, terms kept sorted for
 * prefix matches, facet values interned to integers. Built from the same shared `searchDocument` the indexer
 * writes to Redis, so both engines rank alike; here a query costs a few array operations per matching profile
 * instead of Redis set operations per facet value.
 */
let indexes = 0;

export class SearchIndex {
  /** Tells indexes of one process apart (a full reload builds a new one): results of one never hold in another. */
  readonly serial = ++indexes;
  private readonly docs: (Doc | undefined)[] = [];
  private readonly free: number[] = [];
  private readonly ids = new Map<string, number>();
  readonly bySource = new Map<string, Set<string>>();
  private readonly postings = new Map<string, Posting>();
  /**
   * typoTerms' answers by word. They depend only on which terms exist, so they hold until a term comes or goes
   * (then all are dropped); generating and looking up every one-edit variant was a third of a query's time.
   */
  private readonly typoMemo = new Map<string, Set<string>>();
  private sorted: string[] = [];
  private sortedMembers: string[] = [];
  private readonly facetIds = new Map<string, number>();
  readonly facetValues: [string, string][] = [];
  /** Each facet value's place in byte order among all values, for facetValueOrder (values are never dropped). */
  private valueOrder = new Int32Array(0);
  /** Each facet's value ids, in id order. */
  private readonly facetValueIds = new Map<string, number[]>();
  private bulk = true;
  /** Each document's facet values, interned (search-facet-rows.ts). */
  readonly facetRows = new FacetRows();
  private updatedAt = new Float64Array(0);
  /** Position of each document's member in byte order: Redis's tie-break, without comparing strings. */
  private memberRank = new Float64Array(0);
  private readonly byName = new Map<string, Set<number>>();
  /** The documents changed, with the facet rows they had: kept results are brought up to date by it. */
  private readonly changes = new ChangeLog();
  /** Arrays for results' hits, reused (search-hits.ts). */
  readonly hitPool = new HitPool();
  private readonly matcher = new Matcher({
    posting: (term) => this.postings.get(term),
    idLimit: () => this.docs.length,
    live: () => this.ids.size,
    pool: this.hitPool,
  });

  get size(): number {
    return this.ids.size;
  }

  /** Ends the bulk load: terms and members are sorted once here, then kept sorted one insertion at a time. */
  seal(): this {
    this.sorted = withHeadroom([...this.postings.keys()].sort(compareBytes));
    this.sortedMembers = withHeadroom([...this.ids.keys()].sort(compareBytes));
    this.renumber();
    this.bulk = false;
    return this;
  }

  /**
   * Gives a new member a rank between its neighbours' (ranks are spaced RANK_GAP apart, so bisecting leaves
   * room for many insertions at one place before all are renumbered).
   */
  private placeMember(member: string, id: number): void {
    const i = lowerBound(this.sortedMembers, member);
    const rankAt = (j: number) => this.memberRank[this.ids.get(this.sortedMembers[j]!)!]!;
    const n = this.sortedMembers.length;
    const lo = i > 0 ? rankAt(i - 1) : n > 0 ? rankAt(0) - 2 * RANK_GAP : 0;
    const hi = i < n ? rankAt(i) : lo + 2 * RANK_GAP;
    this.sortedMembers.splice(i, 0, member);
    const r = (lo + hi) / 2;
    if (r > lo && r < hi) this.memberRank[id] = r;
    else this.renumber();
  }

  private renumber(): void {
    this.sortedMembers.forEach((m, i) => (this.memberRank[this.ids.get(m)!] = i * RANK_GAP));
  }

  /** How many document changes the index has seen. */
  get epoch(): number {
    return this.changes.epoch;
  }

  /** See ChangeLog.since. */
  changesSince(epoch: number): DocChange[] | undefined {
    return this.changes.since(epoch);
  }

  /** The document at `id`, or undefined when the id is free. */
  docAt(id: number): Doc | undefined {
    return this.docs[id];
  }

  doc(id: number): Doc {
    return this.docs[id]!;
  }

  /** Each document's last change, by id (the array is replaced as the index grows: ask again per query). */
  get updates(): Float64Array {
    return this.updatedAt;
  }

  /** Each document's place in member byte order, by id (replaced as the index grows, like `updates`). */
  get ranks(): Float64Array {
    return this.memberRank;
  }

  /** The weight of `term` in the document, or undefined when the document does not have the term. */
  termWeight(id: number, term: string): number | undefined {
    const p = this.postings.get(term);
    const at = p ? p.ids.indexOf(id) : -1;
    return at >= 0 ? p!.weights[at] : undefined;
  }

  /** Documents named exactly `name` (lower-cased). */
  named(name: string): Iterable<number> {
    return this.byName.get(name) ?? [];
  }

  private grow(id: number): void {
    if (id < this.updatedAt.length) return;
    const size = Math.max(1024, (id + 1) * 2);
    this.facetRows.grow(size);
    const updated = new Float64Array(size);
    updated.set(this.updatedAt);
    this.updatedAt = updated;
    const rank = new Float64Array(size);
    rank.set(this.memberRank);
    this.memberRank = rank;
  }

  /** Every document, scored 0. */
  allHits(): Hits {
    const hits = new Hits(this.hitPool, this.ids.size);
    for (const id of this.ids.values()) hits.push(id, 0);
    return hits;
  }

  /** The ids of a facet's values, ascending. */
  valueIdsOf(facet: string): readonly number[] {
    return this.facetValueIds.get(facet) ?? [];
  }

  /**
   * Each facet value's place in byte order of the values' strings (by value id): within a facet, one value's
   * string comes before another's exactly when its place does. Sorted again when values were interned since.
   */
  facetValueOrder(): Int32Array {
    if (this.valueOrder.length !== this.facetValues.length) {
      const values = this.facetValues;
      const sorted = values.map((_, f) => f).sort((f, g) => compareBytes(values[f]![1], values[g]![1]));
      this.valueOrder = new Int32Array(values.length);
      sorted.forEach((f, place) => (this.valueOrder[f] = place));
    }
    return this.valueOrder;
  }

  facetId(facet: string, value: string): number | undefined {
    return this.facetIds.get(`${facet}\u0000${value}`);
  }

  /**
   * Adds or replaces a profile's document. A profile whose last change and versions are those already held is
   * left alone (a source reload re-reads every profile, most unchanged); a replaced one keeps its id and rank.
   */
  put(sourceId: string, member: string, d: SearchDocument, updated: number, versions: string[]): void {
    let id = this.ids.get(member);
    if (id !== undefined) {
      const old = this.docs[id]!;
      if (this.updatedAt[id] === updated && old.versions.join() === versions.join()) return;
      this.changes.record(id, this.facetRows.rowAt(id)); // the row it had, about to change
      this.unlink(id);
    } else {
      id = this.free.pop() ?? this.docs.length;
      this.grow(id);
      this.ids.set(member, id);
      if (!this.bulk) this.placeMember(member, id);
      this.changes.record(id, undefined);
    }
    const row = d.facets.slice(0, FACET_ROW).map(([f, v]) => {
      const key = `${f}\u0000${v}`;
      let fid = this.facetIds.get(key);
      if (fid === undefined) {
        fid = this.facetValues.push([f, v]) - 1;
        this.facetIds.set(key, fid);
        let ofFacet = this.facetValueIds.get(f);
        if (!ofFacet) this.facetValueIds.set(f, (ofFacet = []));
        ofFacet.push(fid);
      }
      return fid;
    });
    this.facetRows.set(id, row);
    this.updatedAt[id] = updated;
    this.docs[id] = { member, sourceId, name: d.name, terms: [...d.weights.keys()], versions };
    let named = this.byName.get(d.name);
    if (!named) this.byName.set(d.name, (named = new Set()));
    named.add(id);
    let members = this.bySource.get(sourceId);
    if (!members) this.bySource.set(sourceId, (members = new Set()));
    members.add(member);
    for (const [term, weight] of d.weights) {
      let p = this.postings.get(term);
      if (!p) {
        this.postings.set(term, (p = { ids: [], weights: [] }));
        this.typoMemo.clear();
        if (!this.bulk) this.sorted.splice(lowerBound(this.sorted, term), 0, term);
      }
      p.ids.push(id);
      p.weights.push(weight);
    }
  }

  remove(member: string): void {
    const id = this.ids.get(member);
    if (id === undefined) return;
    this.changes.record(id, this.facetRows.rowAt(id)); // the row it had, about to change
    this.unlink(id);
    this.docs[id] = undefined;
    this.free.push(id);
    this.ids.delete(member);
    this.bySource.get(parseProfileNameMember(member).sourceId)?.delete(member);
    const i = lowerBound(this.sortedMembers, member);
    if (this.sortedMembers[i] === member) this.sortedMembers.splice(i, 1);
  }

  /** Takes a document out of postings, facets and names (its id, member and rank stay). */
  private unlink(id: number): void {
    const doc = this.docs[id]!;
    for (const term of doc.terms) {
      const p = this.postings.get(term);
      if (!p) continue;
      // From the end: a document put since the load was pushed last, so a profile that keeps changing (a
      // source publishing versions) is found at once, not after scanning a posting of a million documents.
      const at = p.ids.lastIndexOf(id);
      if (at >= 0) {
        // Order within a posting does not matter: swap with the last and drop it.
        p.ids[at] = p.ids[p.ids.length - 1]!;
        p.weights[at] = p.weights[p.weights.length - 1]!;
        p.ids.pop();
        p.weights.pop();
      }
      if (p.ids.length === 0) {
        this.postings.delete(term);
        this.typoMemo.clear();
        if (!this.bulk) {
          const i = lowerBound(this.sorted, term);
          if (this.sorted[i] === term) this.sorted.splice(i, 1);
        }
      }
    }
    this.facetRows.clear(id);
    const named = this.byName.get(doc.name);
    named?.delete(id);
    if (named?.size === 0) this.byName.delete(doc.name);
  }

  /** Terms that start with `prefix`, in byte order, at most `limit` (as Redis ZRANGE BYLEX ... LIMIT would). */
  prefixed(prefix: string, limit: number): string[] {
    const out: string[] = [];
    for (let i = lowerBound(this.sorted, prefix); i < this.sorted.length && out.length < limit; i++) {
      const t = this.sorted[i]!;
      if (!t.startsWith(prefix)) break;
      out.push(t);
    }
    return out;
  }

  /**
   * Indexed terms of 5+ letters one edit away from `word` (deletion, insertion, substitution, adjacent
   * transposition): every such string is generated and looked up, so no variant index is kept.
   */
  typoTerms(word: string): Set<string> {
    const known = this.typoMemo.get(word);
    if (known !== undefined) return known;
    if (this.typoMemo.size >= TYPO_MEMO_MAX) this.typoMemo.clear(); // distinct words without end: start over
    const out = new Set(oneEditStrings(word).filter((t) => this.postings.has(t)));
    this.typoMemo.set(word, out);
    return out;
  }

  /** See Matcher.match. */
  match(words: [string, number][][], bonus?: Bonus): Hits {
    return this.matcher.match(words, bonus);
  }
}

/** Byte order of ASCII/UTF-16 strings, as Redis compares members (terms are lower-case ASCII). */
const compareBytes = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function lowerBound(xs: string[], x: string): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Has V8 give `list` room to grow now, at the end of the load, rather than at the first insertion after it: an
 * insertion into a full array of ~350k strings reallocates and copies it (~4 ms each for the term and member
 * lists, measured in one process), which the first catalog change after a load paid inside a request's time.
 * Pushing one element grows the store by half; popping it leaves the store as it is.
 */
function withHeadroom(list: string[]): string[] {
  list.push('');
  list.pop();
  return list;
}
