import type { Audience } from './auth/audience.ts';
import type { Ranked, SearchQuery } from './search-query.ts';

/** Which query at which catalog generation, and where its page starts. */
export interface RankRequest {
  generation: string;
  /** The query's hash (what changes its result; see Search): with the generation, it names the result. */
  hash: string;
  offset: number;
  /** Only these sources' profiles are matched, counted and faceted. */
  audience: Audience;
}

/**
 * One way of ranking a search: the Redis engine (set operations over the indexes the indexer maintains) or the
 * replica's in-memory mirror of them. Both rank alike (search-query.ts). An engine that cannot answer for the
 * request's generation (the mirror, while it is not in step) answers undefined, and the next engine is asked.
 */
export interface SearchEngine {
  readonly name: 'memory' | 'redis';
  rank(q: SearchQuery, at: RankRequest): Ranked | undefined | Promise<Ranked | undefined>;
}
