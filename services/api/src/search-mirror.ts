import semver from 'semver';
import {
  parseProfileNameMember,
  profileNameMember,
  searchDocument,
  SEARCH_FACETS,
  TYPO_MIN_LENGTH,
  withinOneEdit,
  type CatalogEntry,
  type SearchDocument,
  type CatalogKeys,
  type Redis,
} from '@profiles/shared';
import { BoundedCache } from './bounded-cache.ts';
import {
  exactNames,
  queryFilters,
  queryWords,
  RANKING,
  type Ranked,
  type SearchQuery,
} from './search-query.ts';

/** What the mirror keeps of one profile in one catalog (ids are small integers, reused after removal). */
interface Doc {
  member: string;
  name: string;
  terms: string[];
  versions: string[];
}

/**
 * Facet values of a document, interned, in a fixed-width row of a flat table (-1 pads): catalog, catalogName,
 * maintainer, up to three artifact kinds, up to two channels. Rows, last-change times and member order sit in
 * typed arrays indexed by document id, so scanning thousands of matches stays in a few contiguous blocks.
 */
const FACET_ROW = 8;
const RANK_GAP = 1024;

interface Posting {
  ids: number[];
  weights: number[];
}

/** Characters terms are made of (see shared `terms`): the alphabet of one-edit typo candidates. */
const TERM_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789-.';
/** Words whose one-edit terms are remembered at most (a few terms each). */
const TYPO_MEMO_MAX = 10_000;

/**
 * The search indexes of the catalog, in memory: term postings over integer document ids, terms kept sorted for
 * prefix matches, facet values interned to integers. Built from the same shared `searchDocument` the indexer
 * writes to Redis, so both engines rank alike; here a query costs a few array operations per matching profile
 * instead of Redis set operations per facet value.
 */
class Index {
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
  private bulk = true;
  private facetTable = new Int32Array(0);
  private updatedAt = new Float64Array(0);
  /** Position of each document's member in byte order: Redis's tie-break, without comparing strings. */
  private memberRank = new Float64Array(0);
  private readonly byName = new Map<string, Set<number>>();
  // Scratch space for queries, one slot per query word, reused: a slot's stamp array tells this query's
  // entries from older ones, so nothing is cleared between queries.
  private readonly slots: { stamp: Uint32Array; score: Float64Array }[] = [];
  private stampCounter = 0;

  get size(): number {
    return this.ids.size;
  }

  /** Ends the bulk load: terms and members are sorted once here, then kept sorted one insertion at a time. */
  seal(): this {
    this.sorted = [...this.postings.keys()].sort(compareBytes);
    this.sortedMembers = [...this.ids.keys()].sort(compareBytes);
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

  doc(id: number): Doc {
    return this.docs[id]!;
  }

  updated(id: number): number {
    return this.updatedAt[id]!;
  }

  rank(id: number): number {
    return this.memberRank[id]!;
  }

  /** Whether the document has facet value `f`. */
  hasFacet(id: number, f: number): boolean {
    const base = id * FACET_ROW;
    for (let j = base; j < base + FACET_ROW; j++) if (this.facetTable[j] === f) return true;
    return false;
  }

  /** Adds one to `counts[f]` for every facet value `f` of the document. */
  countFacets(id: number, counts: Int32Array): void {
    const base = id * FACET_ROW;
    for (let j = base; j < base + FACET_ROW; j++) {
      const f = this.facetTable[j]!;
      if (f < 0) return;
      counts[f]!++;
    }
  }

  /** Documents named exactly `name` (lower-cased). */
  named(name: string): Iterable<number> {
    return this.byName.get(name) ?? [];
  }

  private grow(id: number): void {
    if (id < this.updatedAt.length) return;
    const size = Math.max(1024, (id + 1) * 2);
    const table = new Int32Array(size * FACET_ROW).fill(-1);
    table.set(this.facetTable);
    this.facetTable = table;
    const updated = new Float64Array(size);
    updated.set(this.updatedAt);
    this.updatedAt = updated;
    const rank = new Float64Array(size);
    rank.set(this.memberRank);
    this.memberRank = rank;
  }

  allIds(): number[] {
    return [...this.ids.values()];
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
      this.unlink(id);
    } else {
      id = this.free.pop() ?? this.docs.length;
      this.grow(id);
      this.ids.set(member, id);
      if (!this.bulk) this.placeMember(member, id);
    }
    d.facets.slice(0, FACET_ROW).forEach(([f, v], j) => {
      const key = `${f}\u0000${v}`;
      let fid = this.facetIds.get(key);
      if (fid === undefined) {
        fid = this.facetValues.push([f, v]) - 1;
        this.facetIds.set(key, fid);
      }
      this.facetTable[id * FACET_ROW + j] = fid;
    });
    this.updatedAt[id] = updated;
    this.docs[id] = { member, name: d.name, terms: [...d.weights.keys()], versions };
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
      const at = p.ids.indexOf(id);
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
    this.facetTable.fill(-1, id * FACET_ROW, (id + 1) * FACET_ROW);
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
    const out = new Set<string>();
    this.typoMemo.set(word, out);
    const consider = (t: string) => {
      if (t !== word && t.length >= TYPO_MIN_LENGTH && this.postings.has(t)) out.add(t);
    };
    for (let i = 0; i <= word.length; i++) {
      const head = word.slice(0, i);
      const tail = word.slice(i);
      for (const c of TERM_ALPHABET) consider(head + c + tail);
      if (i < word.length) {
        consider(head + tail.slice(1));
        for (const c of TERM_ALPHABET) consider(head + c + tail.slice(1));
        if (i + 1 < word.length) consider(head + tail[1] + tail[0] + tail.slice(2));
      }
    }
    return out;
  }

  /**
   * The documents matching every word, with summed scores. A word's score in a document is the best of its
   * sources (term, weight factor); words are summed smallest match set first, as Redis ZINTERSTORE does.
   */
  match(words: [string, number][][]): { ids: number[]; scores: number[] } {
    const mark = ++this.stampCounter;
    const perWord: { ids: number[]; stamp: Uint32Array; score: Float64Array }[] = [];
    words.forEach((sources, w) => {
      const { stamp, score } = this.slot(w);
      const ids: number[] = [];
      for (const [term, factor] of sources) {
        const p = this.postings.get(term);
        if (!p) continue;
        const pIds = p.ids;
        const pWeights = p.weights;
        for (let j = 0; j < pIds.length; j++) {
          const id = pIds[j]!;
          const s = pWeights[j]! * factor;
          if (stamp[id] !== mark) {
            stamp[id] = mark;
            score[id] = s;
            ids.push(id);
          } else if (s > score[id]!) score[id] = s;
        }
      }
      perWord.push({ ids, stamp, score });
    });
    perWord.sort((a, b) => a.ids.length - b.ids.length);
    const [first, ...rest] = perWord;
    if (!first) return { ids: [], scores: [] };
    const outIds: number[] = [];
    const outScores: number[] = [];
    next: for (const id of first.ids) {
      let total = first.score[id]!;
      for (const w of rest) {
        if (w.stamp[id] !== mark) continue next;
        total += w.score[id]!;
      }
      outIds.push(id);
      outScores.push(total);
    }
    return { ids: outIds, scores: outScores };
  }

  private slot(i: number): { stamp: Uint32Array; score: Float64Array } {
    let slot = this.slots[i];
    if (!slot || slot.stamp.length < this.docs.length) {
      const size = Math.max(1024, this.docs.length * 2);
      slot = { stamp: new Uint32Array(size), score: new Float64Array(size) };
      this.slots[i] = slot;
    }
    return slot;
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

/** A query's whole match at one generation: documents, scores, facet counts; sorted in full only when paged deep. */
interface FullResult {
  ids: number[];
  scores: number[];
  facets: Record<string, Record<string, number>>;
  order?: { ids: number[]; scores: number[] };
}

/** Query results kept per replica: at most 500, holding at most 2M matches in all (~32 MB with their scores). */
const RESULT_CACHE = { maxEntries: 500, maxWeight: 2_000_000 };
/** Pages within the first this many hits are picked by partial selection; deeper ones sort the result once. */
const PARTIAL_SELECTION = 100;

/**
 * The in-memory search of one API replica. It holds a copy, never state of its own: it is loaded from Redis
 * (`reloadAll`) and kept current source by source (`reloadSource`) by CatalogGeneration, which announces a
 * generation only once the mirror reflects it. Until then search answers from Redis, as before.
 */
export class SearchMirror {
  private index: Index | undefined;
  private readonly results = new BoundedCache<FullResult>({
    ...RESULT_CACHE,
    weigh: (r) => r.ids.length + 1,
  });

  constructor(private readonly deps: { redis: Redis; keys: CatalogKeys }) {}

  /** Profiles (per catalog) in the mirror. */
  get size(): number {
    return this.index?.size ?? 0;
  }

  /** Rebuilds the whole mirror from Redis; searches keep using the old one until the new one is complete. */
  async reloadAll(): Promise<void> {
    const fresh = new Index();
    const ids = await this.deps.redis.smembers(this.deps.keys.sources());
    for (let i = 0; i < ids.length; i += 16) {
      const loaded = await Promise.all(ids.slice(i, i + 16).map((id) => this.readSource(id)));
      loaded.forEach((docs, j) => {
        for (const d of docs) fresh.put(ids[i + j]!, d.member, d.doc, d.updated, d.versions);
      });
    }
    this.index = fresh.seal();
    this.results.clear();
  }

  /** Replaces one source's profiles with what Redis holds now (none, when the source is gone). */
  async reloadSource(sourceId: string): Promise<void> {
    if (!this.index) return;
    const docs = await this.readSource(sourceId);
    const index = this.index;
    const keep = new Set(docs.map((d) => d.member));
    for (const member of [...(index.bySource.get(sourceId) ?? [])])
      if (!keep.has(member)) index.remove(member);
    for (const d of docs) index.put(sourceId, d.member, d.doc, d.updated, d.versions);
    if (index.bySource.get(sourceId)?.size === 0) index.bySource.delete(sourceId);
    // Document ids may have been reused: results computed before must not be paged any more.
    this.results.clear();
  }

  private async readSource(
    sourceId: string,
  ): Promise<{ member: string; doc: SearchDocument; updated: number; versions: string[] }[]> {
    const { redis, keys } = this.deps;
    const profiles = await redis.smembers(keys.sourceProfiles(sourceId));
    if (profiles.length === 0) return [];
    const pipe = redis.pipeline();
    for (const p of profiles) {
      pipe.get(keys.profileOrder(sourceId, p));
      pipe.hgetall(keys.profile(sourceId, p));
      pipe.zscore(keys.searchUpdated(), profileNameMember(p, sourceId));
    }
    const replies = (await pipe.exec()) ?? [];
    const out: { member: string; doc: SearchDocument; updated: number; versions: string[] }[] = [];
    profiles.forEach((profile, i) => {
      const [orderErr, order] = replies[3 * i] ?? [];
      const [mapErr, map] = replies[3 * i + 1] ?? [];
      const [, updated] = replies[3 * i + 2] ?? [];
      if (orderErr || mapErr) throw orderErr ?? mapErr;
      if (typeof order !== 'string') return; // removed since SMEMBERS: the next announcement reloads again
      const versions = JSON.parse(order) as string[];
      const all = map as Record<string, string>;
      const entries = versions.flatMap((v) => (all[v] ? [JSON.parse(all[v]) as CatalogEntry] : []));
      const doc = searchDocument(entries);
      if (doc)
        out.push({
          member: profileNameMember(profile, sourceId),
          doc,
          updated: Number(updated ?? 0),
          versions,
        });
    });
    return out;
  }

  /**
   * One page of a query, ranked exactly as the Redis search ranks (see search-query.ts); undefined when the
   * mirror is not loaded. `key` names the query at the current generation: its match is reused for later pages.
   */
  rank(q: SearchQuery, key: string, offset: number): Ranked | undefined {
    const index = this.index;
    if (!index) return undefined;
    let full = this.results.get(key);
    if (!full) {
      full = this.compute(index, q);
      this.results.set(key, full);
    }
    const end = offset + q.limit;
    const before = precedes(index, q.sort);
    let page: { ids: number[]; scores: number[] };
    if (end <= PARTIAL_SELECTION && !full.order) {
      page = topK(full.ids, full.scores, end, before);
    } else {
      if (!full.order) {
        const { ids, scores } = full;
        const order = ids
          .map((_, i) => i)
          .sort((a, b) => (before(ids[a]!, scores[a]!, ids[b]!, scores[b]!) ? -1 : 1));
        full.order = { ids: order.map((i) => ids[i]!), scores: order.map((i) => scores[i]!) };
        this.results.grow(key, ids.length);
      }
      page = full.order;
    }
    return {
      total: full.ids.length,
      page: page.ids.slice(offset, end).map((id, i) => ({
        member: index.doc(id).member,
        score: page.scores[offset + i]!,
      })),
      facets: full.facets,
    };
  }

  private compute(index: Index, q: SearchQuery): FullResult {
    const words = queryWords(q.q);
    let ids: number[];
    let scores: number[];
    if (words.length === 0) {
      ids = index.allIds();
      scores = ids.map(() => 0);
    } else {
      ({ ids, scores } = index.match(words.map((w) => wordSources(index, w))));
      const exact = new Set(exactNames(q.q).flatMap((n) => [...index.named(n)]));
      if (exact.size > 0)
        ids.forEach((id, i) => {
          if (exact.has(id)) scores[i]! += RANKING.exactNameBonus;
        });
    }
    const wanted = queryFilters(q).map(([facet, value]) => index.facetId(facet, value));
    const counts = new Int32Array(index.facetValues.length);
    const outIds: number[] = [];
    const outScores: number[] = [];
    ids.forEach((id, i) => {
      for (const f of wanted) if (f === undefined || !index.hasFacet(id, f)) return;
      if (
        q.version &&
        !index
          .doc(id)
          .versions.some((v) =>
            semver.satisfies(v, q.version!, { includePrerelease: q.prerelease !== 'exclude' }),
          )
      )
        return;
      outIds.push(id);
      outScores.push(scores[i]!);
      index.countFacets(id, counts);
    });
    const facets: Record<string, Record<string, number>> = {};
    counts.forEach((n, f) => {
      const [facet, value] = index.facetValues[f]!;
      if (n > 0 && (SEARCH_FACETS as readonly string[]).includes(facet)) (facets[facet] ??= {})[value] = n;
    });
    return { ids: outIds, scores: outScores, facets };
  }
}

type Precedes = (a: number, sa: number, b: number, sb: number) => boolean;

/** The order of a sort, as Redis gives it: equal scores by member, descending for "best/newest first". */
function precedes(index: Index, sort: SearchQuery['sort']): Precedes {
  if (sort === 'name') return (a, _sa, b) => index.rank(a) < index.rank(b);
  if (sort === 'updated')
    return (a, _sa, b) => {
      const ua = index.updated(a);
      const ub = index.updated(b);
      return ua !== ub ? ua > ub : index.rank(a) > index.rank(b);
    };
  return (a, sa, b, sb) => (sa !== sb ? sa > sb : index.rank(a) > index.rank(b));
}

/** The first k of ids in `before` order, by insertion into a k-long list (k is a page or a few). */
function topK(
  ids: number[],
  scores: number[],
  k: number,
  before: Precedes,
): { ids: number[]; scores: number[] } {
  const top: number[] = [];
  const topScores: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    const s = scores[i]!;
    if (top.length === k && !before(id, s, top[k - 1]!, topScores[k - 1]!)) continue;
    let at = top.length;
    while (at > 0 && before(id, s, top[at - 1]!, topScores[at - 1]!)) at--;
    top.splice(at, 0, id);
    topScores.splice(at, 0, s);
    if (top.length > k) {
      top.pop();
      topScores.pop();
    }
  }
  return { ids: top, scores: topScores };
}

/** A word's sources: its own term, terms it prefixes, and (5+ letters) terms one edit away, with their factors. */
function wordSources(index: Index, w: string): [string, number][] {
  const sources: [string, number][] = [[w, RANKING.exact]];
  const prefixed = index.prefixed(w, RANKING.maxPrefixTerms);
  for (const t of prefixed) if (t !== w) sources.push([t, RANKING.prefix]);
  if (w.length >= TYPO_MIN_LENGTH) {
    for (const t of index.typoTerms(w))
      if (!prefixed.includes(t) && withinOneEdit(t, w)) sources.push([t, RANKING.typo]);
  }
  return sources;
}
