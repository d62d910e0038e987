import { terms } from '@profiles/shared';

/** A search as the API accepts it (validated by the route's schema). */
export interface SearchQuery {
  q: string;
  limit: number;
  cursor?: string | undefined;
  catalog?: string | undefined;
  maintainer?: string | undefined;
  kind?: 'chart' | 'kustomize' | 'profile' | undefined;
  prerelease: 'include' | 'exclude' | 'only';
  version?: string | undefined;
  sort: 'relevance' | 'name' | 'updated';
  versions: 'latest' | 'all';
  /** The most frequent values each facet lists (0: none); `facetTotals` tells how many there are in all. */
  facetLimit: number;
}

/**
 * How a query ranks, for both engines (Redis and the in-memory mirror). Each query word matches its exact term,
 * terms it prefixes (the first `maxPrefixTerms` in byte order) and, for words of 5+ letters, terms one edit
 * away; a profile's word score is the best of term weight (name 10, description 3, ...) times these factors.
 * Words are AND-ed and their scores summed; a query equal to a profile's name adds a bonus no text match can
 * reach, so the exact name ranks first.
 */
export const RANKING = {
  exact: 1,
  prefix: 0.6,
  typo: 0.4,
  maxPrefixTerms: 50,
  exactNameBonus: 1000,
} as const;

/** The words a query matches by: its terms without the dotted/dashed compounds (their parts are terms too). */
export function queryWords(q: string): string[] {
  const all = terms(q);
  const words = all.filter((t) => !t.includes('-') && !t.includes('.'));
  return words.length ? words : all;
}

/** The profile names a query names exactly (lower-cased; spaces may stand for dashes): they get the bonus. */
export function exactNames(q: string): [string, string] {
  const name = q.trim().toLowerCase();
  return [name, name.replace(/\s+/g, '-')];
}

/** The facet values a query's filters require, as [facet, value] (see shared `searchDocument`). */
export function queryFilters(q: SearchQuery): [string, string][] {
  const out: [string, string][] = [];
  if (q.catalog) out.push([q.catalog.includes('/') ? 'catalog' : 'catalogName', q.catalog]);
  if (q.maintainer) out.push(['maintainer', q.maintainer.toLowerCase()]);
  if (q.kind) out.push(['kind', q.kind]);
  if (q.prerelease === 'exclude') out.push(['channel', 'release']);
  if (q.prerelease === 'only') out.push(['channel', 'prerelease']);
  return out;
}

/**
 * The `limit` most frequent values of each facet, most frequent first (ties by value, so every replica and both
 * engines list the same ones), and how many values each facet has in all. A catalog of a hundred sources would
 * otherwise list all hundred in every answer (a fifth of its bytes), where a client shows a handful and asks for
 * the rest (`facetLimit`) when the user wants them.
 */
export function topFacetValues(
  facets: Record<string, Record<string, number>>,
  limit: number,
): { facets: Record<string, Record<string, number>>; facetTotals: Record<string, number> } {
  const top: Record<string, Record<string, number>> = {};
  const facetTotals: Record<string, number> = {};
  for (const [facet, counts] of Object.entries(facets)) {
    const values = Object.entries(counts);
    facetTotals[facet] = values.length;
    if (limit === 0) continue;
    values.sort(([a, m], [b, n]) => n - m || (a < b ? -1 : a > b ? 1 : 0));
    top[facet] = Object.fromEntries(values.slice(0, limit));
  }
  return { facets: top, facetTotals };
}

/** One page of a ranked result: the total, the page's members with their relevance scores, facet counts. */
export interface Ranked {
  /**
   * Names the state of the result this page was taken from, when the engine can tell (the mirror): two rankings
   * of one query with the same `stable` are the same result, their pages the same hits with the same entries
   * (a change of a profile's entries is a change of its document), whatever the generation between them.
   */
  stable?: string;
  total: number;
  page: { member: string; score: number }[];
  /** Every value's count; or, with `facetTotals`, only the values the answer lists, as topFacetValues picks them. */
  facets: Record<string, Record<string, number>>;
  facetTotals?: Record<string, number>;
}
