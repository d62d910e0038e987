import { BoundedCache } from './bounded-cache.ts';
import type { MirrorLoader } from './mirror-loader.ts';
import type { RankRequest, SearchEngine } from './search-engine.ts';
import type { SearchIndex } from './search-index.ts';
import { matchQuery, topFacetsOf, pageOf, querySources, type FullResult } from './search-ranking.ts';
import { updateResult } from './search-result-update.ts';
import type { Ranked, SearchQuery } from './search-query.ts';

/** Query results kept per replica: at most 500, holding at most 2M matches in all (~32 MB with their scores). */
const RESULT_CACHE = { maxEntries: 500, maxWeight: 2_000_000 };
/**
 * How long a search waits for the mirror to reach its generation before asking Redis: one small source's
 * reload takes a few ms, and 64 searches sent to Redis meanwhile (set operations over every match) would cost
 * far more than the wait, and slow the reload they wait for.
 */
const CATCH_UP_MS = 200;

/** A query's result, with the index state it was computed at (the index and its count of changes). */
interface Held {
  index: SearchIndex;
  epoch: number;
  /** The epoch since which the result is as it is: no document changed since then was in it or matches. */
  since: number;
  sources: string;
  full: FullResult;
}

/**
 * The in-memory search engine of one API replica: ranks over the index the MirrorLoader keeps (search-ranking.ts),
 * a query's whole match kept for its later pages. It answers only for the generation the index reflects
 * (`at`; always, without it); a search a little ahead of the index waits for it (`caughtUp`), otherwise the
 * answer is undefined and the search asks Redis, as before.
 */
export class SearchMirror implements SearchEngine {
  readonly name = 'memory';
  private readonly results: BoundedCache<Held>;

  constructor(
    private readonly loader: Pick<MirrorLoader, 'index'> & Partial<Pick<MirrorLoader, 'onChange'>>,
    private readonly at?: () => string | undefined,
    /** Resolves true once the index reflects the generation, false when it does not within the time given. */
    private readonly caughtUp?: (generation: string, ms: number) => Promise<boolean>,
    resultCache: { maxEntries: number; maxWeight: number } = RESULT_CACHE,
  ) {
    this.results = new BoundedCache<Held>({
      ...resultCache,
      weigh: (r) => r.full.hits.length + 1,
      // Its arrays go back to the pool once the request that dropped it is done with them (all of rankNow runs
      // before any microtask, and nothing else holds a result).
      dropped: (r) => queueMicrotask(() => r.full.hits.release()),
    });
    // A whole new index (a full reload): results of the old one never hold, and must not keep it in memory.
    let last = loader.index;
    loader.onChange?.(() => {
      if (loader.index !== last) this.results.clear();
      last = loader.index;
    });
  }

  /**
   * One page of a query, ranked exactly as the Redis search ranks; undefined when the index is not loaded or
   * not at the request's generation (after waiting a little, when it is catching up).
   */
  rank(q: SearchQuery, req: RankRequest): Ranked | undefined | Promise<Ranked | undefined> {
    if (!this.loader.index || !this.at) return this.rankNow(q, req);
    const at = this.at();
    if (at === req.generation) return this.rankNow(q, req);
    // Not in step at all (loading, reconnecting): Redis answers at once, as nothing is about to catch up.
    if (at === undefined || !this.caughtUp) return undefined;
    return this.caughtUp(req.generation, CATCH_UP_MS).then((ok) => (ok ? this.rankNow(q, req) : undefined));
  }

  private rankNow(q: SearchQuery, { generation, hash, offset, audience }: RankRequest): Ranked | undefined {
    const index = this.loader.index;
    if (!index || (this.at && this.at() !== generation)) return undefined;
    const { full, since } = this.result(index, q, `${audience.key} ${hash}`, audience);
    const page = pageOf(index, full, q.sort, offset, offset + q.limit);
    if (page.sorted) this.results.grow(`${audience.key} ${hash}`, full.hits.length);
    return {
      stable: `${index.serial}.${since}`,
      total: full.hits.length,
      page: page.ids.map((id, i) => ({ member: index.doc(id).member, score: page.scores[i]! })),
      ...topFacetsOf(index, full, q.facetLimit),
    };
  }

  /**
   * The query's whole match now. One computed before a change is brought up to date (`updateResult`): a change
   * of one small source then costs each query the documents it changed, not a match of the whole catalog.
   */
  private result(index: SearchIndex, q: SearchQuery, key: string, audience: RankRequest['audience']): Held {
    const held = this.results.get(key);
    if (held?.index === index && held.epoch === index.epoch) return held;
    const sources = querySources(index, q);
    const signature = JSON.stringify(sources);
    if (held?.index === index && held.sources === signature) {
      const changes = index.changesSince(held.epoch);
      const outcome = changes ? updateResult(index, q, audience, sources, held.full, changes) : 'recompute';
      if (outcome !== 'recompute') {
        held.epoch = index.epoch;
        if (outcome === 'updated') held.since = index.epoch;
        return held;
      }
    }
    const full = matchQuery(index, q, audience, sources);
    const fresh = { index, epoch: index.epoch, since: index.epoch, sources: signature, full };
    this.results.set(key, fresh);
    return fresh;
  }
}
