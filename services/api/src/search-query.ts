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

/** One page of a ranked result: the total, the page's members with their relevance scores, facet counts. */
export interface Ranked {
  total: number;
  page: { member: string; score: number }[];
  facets: Record<string, Record<string, number>>;
}
