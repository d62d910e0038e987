import type { Audience } from './auth/audience.ts';
import type { Doc, DocChange, SearchIndex } from './search-index.ts';
import {
  admits,
  insertRanked,
  PARTIAL_SELECTION,
  precedes,
  wantedFacets,
  type FullResult,
  type QuerySources,
} from './search-ranking.ts';
import { exactNames, RANKING, type SearchQuery } from './search-query.ts';

/**
 * Brings a query's result up to date after some documents changed, instead of matching the whole catalog
 * again: at a million versions a query matches hundreds of thousands of profiles, and a change of one small
 * source used to cost every query it touched a full match (3-13 ms each, on the one event loop that answers
 * every request). Every document not changed kept its terms, facets, versions and relative member order, so
 * its score, count and place hold; each changed one is taken out (with the facet row it had when the result
 * was computed) and put back in when it matches now, scored as `SearchIndex.match` scores it.
 *
 * The query's word sources must be those the result was computed with. Returns 'recompute', touching nothing,
 * when the result cannot be kept exact: three or more words, whose scores match() sums in an order that follows
 * the words' match counts (floating-point sums differ by order); then the query is matched again. 'unchanged'
 * says no changed document was in the result or matches now: the result, and every page of it, is as it was.
 */
export type UpdateOutcome = 'unchanged' | 'updated' | 'recompute';

export function updateResult(
  index: SearchIndex,
  q: SearchQuery,
  audience: Audience,
  sources: QuerySources,
  full: FullResult,
  changes: DocChange[],
): UpdateOutcome {
  if (changes.length === 0) return 'unchanged';
  if (sources.length > 2) return 'recompute';
  const counts = countsFor(index, full);
  const taken = takeOut(full, counts, changes);
  const before = precedes(index, q.sort);
  const head = full.head;
  if (head && taken.size > 0) {
    const keep = head.ids.flatMap((id, i) => (taken.has(id) ? [] : [i]));
    full.head = { ids: keep.map((i) => head.ids[i]!), scores: keep.map((i) => head.scores[i]!) };
  }
  const wanted = wantedFacets(index, q);
  const names = exactNames(q.q);
  let added = 0;
  for (const { id } of changes) {
    const doc = index.docAt(id);
    if (!doc || !admits(index, q, audience, wanted, id)) continue;
    const score = scoreOf(index, sources, names, doc, id);
    if (score === undefined) continue;
    const top = full.head;
    // The head stays a prefix of the full order: a hit joins it when it holds the whole result, or when the
    // hit ranks before its last (everything outside the head ranks after that).
    if (
      top &&
      (top.ids.length === full.hits.length ||
        (top.ids.length > 0 && before(id, score, top.ids.at(-1)!, top.scores.at(-1)!)))
    )
      insertRanked(top, id, score, PARTIAL_SELECTION, before);
    full.hits.push(id, score);
    index.facetRows.count(id, counts);
    added++;
  }
  full.counts = counts; // longer by the values interned since (none of them counted here) at most
  if (taken.size === 0 && added === 0) return 'unchanged';
  full.facets = undefined;
  full.order = undefined;
  return 'updated';
}

/** The result's counts, long enough for every facet value the index has interned since. */
function countsFor(index: SearchIndex, full: FullResult): Int32Array {
  if (full.counts.length >= index.facetValues.length) return full.counts;
  const counts = new Int32Array(index.facetValues.length);
  counts.set(full.counts);
  return counts;
}

/** Takes the changed documents the result holds out of it (order within its hits does not matter). */
function takeOut(full: FullResult, counts: Int32Array, changes: DocChange[]): Set<number> {
  const taken = new Set<number>();
  for (const { id, before } of changes) {
    const at = full.hits.indexOf(id);
    if (at < 0) continue;
    full.hits.removeAt(at);
    // A document in the result had a row then (ids of free slots match nothing).
    for (const f of before!) {
      if (f < 0) break;
      counts[f]!--;
    }
    taken.add(id);
  }
  return taken;
}

/**
 * A document's score for the query, or undefined when some word matches none of its terms: per word the best
 * of its sources' weight times factor, the words summed, the exact-name bonus added, in match()'s operations.
 */
function scoreOf(
  index: SearchIndex,
  sources: QuerySources,
  names: string[],
  doc: Doc,
  id: number,
): number | undefined {
  if (sources.length === 0) return 0; // the empty query: everything, unscored
  let total: number | undefined;
  for (const word of sources) {
    let best: number | undefined;
    for (const [term, factor] of word) {
      if (!doc.terms.includes(term)) continue;
      const s = index.termWeight(id, term)! * factor;
      if (best === undefined || s > best) best = s;
    }
    if (best === undefined) return undefined;
    total = total === undefined ? best : total + best;
  }
  return names.includes(doc.name) ? total! + RANKING.exactNameBonus : total;
}
