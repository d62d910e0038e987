import { BoundedCache } from './bounded-cache.ts';
import type { MirrorLoader } from './mirror-loader.ts';
import type { RankRequest, SearchEngine } from './search-engine.ts';
import { matchQuery, pageOf, type FullResult } from './search-ranking.ts';
import type { Ranked, SearchQuery } from './search-query.ts';

/** Query results kept per replica: at most 500, holding at most 2M matches in all (~32 MB with their scores). */
const RESULT_CACHE = { maxEntries: 500, maxWeight: 2_000_000 };

/**
 * The in-memory search engine of one API replica: ranks over the index the MirrorLoader keeps (search-ranking.ts),
 * a query's whole match kept for its later pages. It answers only for the generation the index reflects
 * (`at`; always, without it); otherwise undefined, and the search asks Redis, as before.
 */
export class SearchMirror implements SearchEngine {
  readonly name = 'memory';
  private readonly results = new BoundedCache<FullResult>({
    ...RESULT_CACHE,
    weigh: (r) => r.ids.length + 1,
  });

  constructor(
    private readonly loader: MirrorLoader,
    private readonly at?: () => string | undefined,
  ) {
    // Document ids may have been reused: results computed before must not be paged any more.
    loader.onChange(() => this.results.clear());
  }

  /**
   * One page of a query, ranked exactly as the Redis search ranks; undefined when the index is not loaded or
   * not at the request's generation. The match is kept under the generation and the query's hash.
   */
  rank(q: SearchQuery, { generation, hash, offset, audience }: RankRequest): Ranked | undefined {
    const index = this.loader.index;
    if (!index || (this.at && this.at() !== generation)) return undefined;
    const key = `${generation} ${audience.key} ${hash}`;
    let full = this.results.get(key);
    if (!full) {
      full = matchQuery(index, q, audience);
      this.results.set(key, full);
    }
    const page = pageOf(index, full, q.sort, offset, offset + q.limit);
    if (page.sorted) this.results.grow(key, full.ids.length);
    return {
      total: full.ids.length,
      page: page.ids.map((id, i) => ({ member: index.doc(id).member, score: page.scores[i]! })),
      facets: full.facets,
    };
  }
}
