import semver from 'semver';
import {
  oneEditStrings,
  parseProfileNameMember,
  SEARCH_FACETS,
  TYPO_MIN_LENGTH,
  type CatalogKeys,
} from '@profiles/shared';
import type { Redis } from '@profiles/shared/runtime';
import type { Audience } from './auth/audience.ts';
import type { CatalogReader } from './catalog-reader.ts';
import type { RankRequest, SearchEngine } from './search-engine.ts';
import {
  exactNames,
  queryFilters,
  queryWords,
  RANKING,
  type Ranked,
  type SearchQuery,
} from './search-query.ts';

const RESULT_TTL_SECONDS = 60;
const HIGH = Buffer.from([0xff]);

/**
 * The Redis search engine: set operations over the search indexes the indexer maintains (the only keys it
 * knows; catalog data comes through the CatalogReader). A scored result is kept in Redis for 60 s under the
 * catalog generation and the query's hash, so paging and other replicas reuse it. It always answers.
 */
export class RedisSearch implements SearchEngine {
  readonly name = 'redis';

  constructor(
    /** Writable: results are stored. */
    private readonly redis: Redis,
    private readonly keys: CatalogKeys,
    private readonly reader: CatalogReader,
  ) {}

  async rank(q: SearchQuery, { generation, hash, offset, audience }: RankRequest): Promise<Ranked> {
    const result = this.keys.searchResult(generation, `${hash}:${audience.key}`);
    if (!(await this.redis.exists(result))) await this.build(q, result, audience);
    const sorted = await this.sorted(q, result);
    const total = await this.redis.zcard(sorted);
    const page =
      q.sort === 'name'
        ? await this.redis.zrange(sorted, String(offset), String(offset + q.limit - 1), 'WITHSCORES')
        : await this.redis.zrevrange(sorted, offset, offset + q.limit - 1, 'WITHSCORES');
    const members: { member: string; score: number }[] = [];
    for (let i = 0; i < page.length; i += 2) members.push({ member: page[i]!, score: Number(page[i + 1]) });
    const scores =
      q.sort === 'relevance'
        ? members
        : await Promise.all(
            members.map(async (m) => ({
              member: m.member,
              score: Number((await this.redis.zscore(result, m.member)) ?? 0),
            })),
          );
    return { total, page: scores, facets: await this.facets(result) };
  }

  private async sorted(q: SearchQuery, result: string): Promise<string> {
    if (q.sort === 'relevance') return result;
    const key = `${result}:${q.sort}`;
    if (await this.redis.exists(key)) return key;
    if (q.sort === 'name')
      await this.redis.zinterstore(key, 2, result, this.keys.profileNames(), 'WEIGHTS', 0, 0);
    else await this.redis.zinterstore(key, 2, result, this.keys.searchUpdated(), 'WEIGHTS', 0, 1);
    await this.redis.expire(key, RESULT_TTL_SECONDS);
    return key;
  }

  /** Facet counts of a result, computed once and kept beside it for as long as the result lives. */
  private async facets(result: string): Promise<Record<string, Record<string, number>>> {
    const cached = await this.redis.get(`${result}:facets`);
    if (cached) return JSON.parse(cached) as Record<string, Record<string, number>>;
    const out: Record<string, Record<string, number>> = {};
    const pipe = this.redis.pipeline();
    const asked: [string, string][] = [];
    for (const facet of SEARCH_FACETS) {
      for (const value of await this.redis.smembers(this.keys.searchFacetValues(facet))) {
        asked.push([facet, value]);
        pipe.zintercard(2, result, this.keys.searchFacet(facet, value));
      }
    }
    const counts = (await pipe.exec()) ?? [];
    asked.forEach(([facet, value], i) => {
      const [err, n] = counts[i] ?? [];
      if (err || !n) return;
      (out[facet] ??= {})[value] = n as number;
    });
    await this.redis.set(`${result}:facets`, JSON.stringify(out), 'EX', RESULT_TTL_SECONDS);
    return out;
  }

  private async build(q: SearchQuery, result: string, audience: Audience): Promise<void> {
    const temps: string[] = [];
    const temp = () => {
      const k = `${result}:tmp${temps.length}`;
      temps.push(k);
      return k;
    };
    try {
      const wordKeys: string[] = [];
      for (const w of queryWords(q.q)) {
        const sources: [string, number][] = [[this.keys.searchTerm(w), RANKING.exact]];
        const prefixed = await this.redis.zrangebylex(
          this.keys.searchTerms(),
          `[${w}`,
          Buffer.concat([Buffer.from(`[${w}`), HIGH]),
          'LIMIT',
          0,
          RANKING.maxPrefixTerms,
        );
        for (const t of prefixed) if (t !== w) sources.push([this.keys.searchTerm(t), RANKING.prefix]);
        if (w.length >= TYPO_MIN_LENGTH) {
          const candidates = await typoCandidates(this.redis, this.keys, w);
          for (const t of candidates)
            if (!prefixed.includes(t)) sources.push([this.keys.searchTerm(t), RANKING.typo]);
        }
        const k = temp();
        await this.redis.zunionstore(
          k,
          sources.length,
          ...sources.map((s) => s[0]),
          'WEIGHTS',
          ...sources.map((s) => s[1]),
          'AGGREGATE',
          'MAX',
        );
        wordKeys.push(k);
      }
      if (wordKeys.length === 0) {
        await this.redis.zunionstore(result, 1, this.keys.profileNames());
      } else {
        await this.redis.zinterstore(result, wordKeys.length, ...wordKeys, 'AGGREGATE', 'SUM');
        // The exact name first: profiles named exactly like the query get a bonus no text match can reach.
        const exact = temp();
        const [name, dashed] = exactNames(q.q);
        await this.redis.zunionstore(
          exact,
          2,
          this.keys.searchName(name),
          this.keys.searchName(dashed),
          'AGGREGATE',
          'MAX',
        );
        const bonus = temp();
        await this.redis.zinterstore(bonus, 2, result, exact, 'WEIGHTS', 0, RANKING.exactNameBonus);
        await this.redis.zunionstore(result, 2, result, bonus, 'AGGREGATE', 'SUM');
      }
      for (const [facet, value] of queryFilters(q)) {
        const f = this.keys.searchFacet(facet, value);
        await this.redis.zinterstore(result, 2, result, f, 'WEIGHTS', 1, 0);
      }
      if (!audience.all) {
        // Only the audience's sources: their `catalog` facet sets, united, are the profiles it may see.
        const visible = temp();
        const sets = audience.ids.map((id) => this.keys.searchFacet('catalog', id));
        if (sets.length) await this.redis.zunionstore(visible, sets.length, ...sets);
        await this.redis.zinterstore(result, 2, result, visible, 'WEIGHTS', 1, 0);
      }
      if (q.version) await this.filterByRange(result, q.version, q.prerelease);
      // An empty result is no key in Redis: mark it so it is cached too.
      await this.redis.zadd(result, '-inf', '\u0000');
      await this.redis.zrem(result, '\u0000');
      await this.redis.expire(result, RESULT_TTL_SECONDS);
    } finally {
      if (temps.length) await this.redis.del(...temps);
    }
  }

  private async filterByRange(
    result: string,
    range: string,
    prerelease: SearchQuery['prerelease'],
  ): Promise<void> {
    const members = await this.redis.zrange(result, '0', '-1');
    const orders = await this.reader.versionOrders(members.map(parseProfileNameMember));
    const drop: string[] = [];
    members.forEach((m, i) => {
      const versions = orders[i]!;
      const ok = versions.some((v) =>
        semver.satisfies(v, range, { includePrerelease: prerelease !== 'exclude' }),
      );
      if (!ok) drop.push(m);
    });
    if (drop.length) await this.redis.zrem(result, ...drop);
  }
}

/**
 * Indexed terms one edit away from `w`: every such string (shared `oneEditStrings`, ~80 per letter) looked up in
 * `idx:terms` with one ZMSCORE, as the mirror looks them up in its postings.
 */
export async function typoCandidates(redis: Redis, keys: CatalogKeys, w: string): Promise<Set<string>> {
  const near = oneEditStrings(w);
  if (near.length === 0) return new Set();
  const scores = await redis.zmscore(keys.searchTerms(), ...near);
  return new Set(near.filter((_, i) => scores[i] !== null));
}
