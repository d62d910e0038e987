import semver from 'semver';
import { SEARCH_FACETS, TYPO_MIN_LENGTH } from '@profiles/shared';
import type { Audience } from './auth/audience.ts';
import { Hits } from './search-hits.ts';
import type { SearchIndex } from './search-index.ts';
import { exactNames, queryFilters, queryWords, RANKING, type SearchQuery } from './search-query.ts';

/**
 * The ranking of a query over the in-memory index, exactly as the Redis engine ranks (see search-query.ts):
 * the whole match with scores and facet counts, then a page of it in the sort's order.
 */

/**
 * A query's whole match at one index state: documents, scores, matches per facet value; sorted in full only
 * when paged deep. It may be brought up to date after a change (search-result-update.ts), so what is derived
 * from it (facets, order, head) is derived lazily or kept in step.
 */
export interface FullResult {
  /** Its documents and their scores (in no order), in arrays the index's pool lends: see Hits.release. */
  hits: Hits;
  /** Matches per facet value id (the index's `facetValues`; values interned later count 0). */
  counts: Int32Array;
  /** The facets last listed from `counts`, for that facet limit (topFacetsOf). */
  facets?: { limit: number; top: TopFacets };
  order?: { ids: number[]; scores: number[] };
  /**
   * Its first hits in order (at most PARTIAL_SELECTION), picked once for every first page asked of it: always
   * a prefix of the full order, so shorter than asked for only when the result itself is, or after a change
   * took some of it out (then it is picked again when a page needs more).
   */
  head?: { ids: number[]; scores: number[] };
}

/** Pages within the first this many hits are picked by partial selection; deeper ones sort the result once. */
export const PARTIAL_SELECTION = 100;

/** The facet values an answer lists (the most frequent first, `limit` per facet) and how many each facet has. */
export interface TopFacets {
  facets: Record<string, Record<string, number>>;
  facetTotals: Record<string, number>;
}

/**
 * The answer's facets, picked straight from the result's counts: what `topFacetValues` gives for the full
 * counts (same values, order and totals; facets in the order of their first counted value), without building
 * and sorting a record of every value, which at a million versions (a thousand catalogs) was ~1 ms a query.
 */
export function topFacetsOf(index: SearchIndex, full: FullResult, limit: number): TopFacets {
  if (full.facets?.limit === limit) return full.facets.top;
  // Ties (a thousand catalogs with 12 matches each) break by the value's place in byte order, not by comparing
  // its string: strings parsed out of a snapshot compare several times slower than integers.
  const order = index.facetValueOrder();
  const before = (f: number, m: number, g: number, n: number) => m > n || (m === n && order[f]! < order[g]!);
  const found: { facet: string; first: number; total: number; top: number[] }[] = [];
  for (const facet of SEARCH_FACETS) {
    let total = 0;
    let first = -1;
    const top: number[] = []; // value ids, in listing order
    for (const f of index.valueIdsOf(facet)) {
      const n = full.counts[f] ?? 0;
      if (n <= 0) continue;
      total++;
      if (first < 0) first = f;
      if (limit === 0) continue;
      if (top.length === limit && !before(f, n, top[limit - 1]!, full.counts[top[limit - 1]!]!)) continue;
      let at = top.length;
      while (at > 0 && before(f, n, top[at - 1]!, full.counts[top[at - 1]!]!)) at--;
      top.splice(at, 0, f);
      if (top.length > limit) top.pop();
    }
    if (total > 0) found.push({ facet, first, total, top });
  }
  found.sort((a, b) => a.first - b.first);
  const out: TopFacets = { facets: {}, facetTotals: {} };
  for (const { facet, total, top } of found) {
    out.facetTotals[facet] = total;
    if (limit > 0)
      out.facets[facet] = Object.fromEntries(top.map((f) => [index.facetValues[f]![1], full.counts[f]!]));
  }
  full.facets = { limit, top: out };
  return out;
}

/** Each query word's sources (term, factor), as the index's terms give them now; none for an empty query. */
export type QuerySources = [string, number][][];

export function querySources(index: SearchIndex, q: SearchQuery): QuerySources {
  return queryWords(q.q).map((w) => wordSources(index, w));
}

/** Whether a matched document passes the audience, the facet filters (`wanted` ids) and the version range. */
export function admits(
  index: SearchIndex,
  q: SearchQuery,
  audience: Audience,
  wanted: (number | undefined)[],
  id: number,
) {
  if (!audience.all && !audience.sees(index.doc(id).sourceId)) return false;
  for (const f of wanted) if (f === undefined || !index.facetRows.has(id, f)) return false;
  const range = q.version;
  if (!range) return true;
  const includePrerelease = q.prerelease !== 'exclude';
  return index.doc(id).versions.some((v) => semver.satisfies(v, range, { includePrerelease }));
}

export const wantedFacets = (index: SearchIndex, q: SearchQuery) =>
  queryFilters(q).map(([facet, value]) => index.facetId(facet, value));

/** The whole match of a query among the documents of the audience's sources. */
export function matchQuery(
  index: SearchIndex,
  q: SearchQuery,
  audience: Audience,
  sources: QuerySources = querySources(index, q),
): FullResult {
  let hits: Hits;
  if (sources.length === 0) hits = index.allHits();
  else {
    const exact = new Set(exactNames(q.q).flatMap((n) => [...index.named(n)]));
    hits = index.match(sources, { ids: exact, add: RANKING.exactNameBonus });
  }
  const wanted = wantedFacets(index, q);
  const counts = new Int32Array(index.facetValues.length);
  if (audience.all && wanted.length === 0 && !q.version) {
    // Nothing filters: every match is in, and its facets are counted in one tight pass.
    index.facetRows.countAll(hits.idView(), counts);
    return { hits, counts };
  }
  const admitted = new Hits(index.hitPool);
  for (let i = 0; i < hits.length; i++) {
    const id = hits.ids[i]!;
    if (!admits(index, q, audience, wanted, id)) continue;
    admitted.push(id, hits.scores[i]!);
    index.facetRows.count(id, counts);
  }
  hits.release(); // nothing else holds it
  return { hits: admitted, counts };
}

/**
 * The hits from `offset` to `end` of a result in the sort's order. The first pages are picked by partial
 * selection; a deeper one sorts the whole result once and keeps that order on it (`sorted`: it did so now).
 */
export function pageOf(
  index: SearchIndex,
  full: FullResult,
  sort: SearchQuery['sort'],
  offset: number,
  end: number,
): { ids: number[]; scores: number[]; sorted: boolean } {
  if (end <= PARTIAL_SELECTION && !full.order) {
    const held = full.head?.ids.length ?? -1;
    if (held < end && held < full.hits.length) {
      const { hits } = full;
      full.head = topK(
        hits.idView(),
        hits.scoreView(),
        PARTIAL_SELECTION,
        hitOrder(index, sort),
        scansFromEnd(sort),
      );
    }
    const { ids, scores } = full.head!;
    return { ids: ids.slice(offset, end), scores: scores.slice(offset, end), sorted: false };
  }
  const sorted = !full.order;
  if (!full.order) {
    const before = precedes(index, sort);
    const { ids, scores, length } = full.hits;
    const order = Array.from({ length }, (_, i) => i).sort((a, b) =>
      before(ids[a]!, scores[a]!, ids[b]!, scores[b]!) ? -1 : 1,
    );
    full.order = { ids: order.map((i) => ids[i]!), scores: order.map((i) => scores[i]!) };
  }
  return {
    ids: full.order.ids.slice(offset, end),
    scores: full.order.scores.slice(offset, end),
    sorted,
  };
}

export type Precedes = (a: number, sa: number, b: number, sb: number) => boolean;

/**
 * The order of a sort, as Redis gives it: a higher key first, the key being the hit's score, or `key` by
 * document id times `sign` (last change for "updated", the member's place negated for "name"); equal keys by
 * higher member place.
 */
export interface HitOrder {
  rank: Float64Array;
  key?: Float64Array;
  sign: number;
}

export function hitOrder(index: SearchIndex, sort: SearchQuery['sort']): HitOrder {
  if (sort === 'name') return { rank: index.ranks, key: index.ranks, sign: -1 };
  if (sort === 'updated') return { rank: index.ranks, key: index.updates, sign: 1 };
  return { rank: index.ranks, sign: 1 };
}

/** Whether hit (a, score sa) comes before hit (b, sb) in the sort's order (see HitOrder). */
export function precedes(index: SearchIndex, sort: SearchQuery['sort']): Precedes {
  const { rank, key, sign } = hitOrder(index, sort);
  return (a, sa, b, sb) => {
    const ka = key ? sign * key[a]! : sa;
    const kb = key ? sign * key[b]! : sb;
    return ka !== kb ? ka > kb : rank[a]! > rank[b]!;
  };
}

/**
 * Whether topK should scan from the last id: ids are given out roughly in member order, so orders that put higher
 * members first (relevance and "updated", on ties) meet their best near the end.
 */
export const scansFromEnd = (sort: SearchQuery['sort']) => sort !== 'name';

/**
 * The first k of the hits in `order`. The k best so far sit in a heap with the last of them at its root, so a
 * hit that does not make the cut costs one comparison with the root's key and place, kept at hand, and one
 * that does a few: scores tie often (every "nginx-…" profile of a thousand catalogs scores alike) and their
 * tie-break, the member order, runs roughly along the ids, so insertion into an ordered list walked most of it
 * for nearly every hit. `fromEnd` scans the last ids first, for orders that put higher members first (see
 * scansFromEnd): the best then come early and the rest is turned away at the root. Either way the answer is
 * the same. The order is read from typed arrays here, not through a comparison function: at a million
 * versions that call per hit was half of the selection's time.
 */
export function topK(
  ids: ArrayLike<number>,
  scores: ArrayLike<number>,
  k: number,
  order: HitOrder,
  fromEnd = false,
): { ids: number[]; scores: number[] } {
  const { rank, key, sign } = order;
  const keyAt = (i: number) => (key ? sign * key[ids[i]!]! : scores[i]!);
  /** Whether the hit at position i comes after the one at j. */
  const after = (i: number, j: number) => {
    const ki = keyAt(i);
    const kj = keyAt(j);
    return ki !== kj ? ki < kj : rank[ids[i]!]! < rank[ids[j]!]!;
  };
  const heap: number[] = []; // positions in ids/scores; each one's children come before it
  let rootKey = 0;
  let rootRank = 0;
  for (let step = 0; step < ids.length && k > 0; step++) {
    const i = fromEnd ? ids.length - 1 - step : step;
    if (heap.length < k) {
      let at = heap.push(i) - 1;
      while (at > 0) {
        const up = (at - 1) >> 1;
        if (!after(i, heap[up]!)) break;
        heap[at] = heap[up]!;
        at = up;
      }
      heap[at] = i;
    } else {
      const ki = keyAt(i);
      if (ki < rootKey || (ki === rootKey && rank[ids[i]!]! < rootRank)) continue;
      siftDown(heap, i, after);
    }
    if (heap.length === k) {
      rootKey = keyAt(heap[0]!);
      rootRank = rank[ids[heap[0]!]!]!;
    }
  }
  heap.sort((a, b) => (after(a, b) ? 1 : -1));
  return { ids: heap.map((i) => ids[i]!), scores: heap.map((i) => scores[i]!) };
}

/** Puts `i` at the heap's root, in place of the one there, and moves it down below any that come after it. */
function siftDown(heap: number[], i: number, after: (i: number, j: number) => boolean): void {
  let at = 0;
  for (;;) {
    const left = 2 * at + 1;
    if (left >= heap.length) break;
    const right = left + 1;
    const child = right < heap.length && after(heap[right]!, heap[left]!) ? right : left;
    if (!after(heap[child]!, i)) break;
    heap[at] = heap[child]!;
    at = child;
  }
  heap[at] = i;
}

/** Puts a hit in its place in an ordered list, which then keeps at most its first k. */
export function insertRanked(
  top: { ids: number[]; scores: number[] },
  id: number,
  s: number,
  k: number,
  before: Precedes,
): void {
  let at = top.ids.length;
  while (at > 0 && before(id, s, top.ids[at - 1]!, top.scores[at - 1]!)) at--;
  top.ids.splice(at, 0, id);
  top.scores.splice(at, 0, s);
  if (top.ids.length > k) {
    top.ids.pop();
    top.scores.pop();
  }
}

/** A word's sources: its own term, terms it prefixes, and (5+ letters) terms one edit away, with their factors. */
function wordSources(index: SearchIndex, w: string): [string, number][] {
  const sources: [string, number][] = [[w, RANKING.exact]];
  const prefixed = index.prefixed(w, RANKING.maxPrefixTerms);
  for (const t of prefixed) if (t !== w) sources.push([t, RANKING.prefix]);
  if (w.length >= TYPO_MIN_LENGTH) {
    for (const t of index.typoTerms(w)) if (!prefixed.includes(t)) sources.push([t, RANKING.typo]);
  }
  return sources;
}
