import { createHash } from 'node:crypto';
import semver from 'semver';
import {
  AppError,
  deletions,
  isPrerelease,
  parseProfileNameMember,
  SEARCH_FACETS,
  TYPO_MIN_LENGTH,
  withinOneEdit,
  type CatalogEntry,
  type CatalogKeys,
  type Redis,
  type SearchHit,
  type SearchResult,
} from '@profiles/shared';
import type { SearchMirror } from './search-mirror.ts';
import {
  exactNames,
  queryFilters,
  queryWords,
  RANKING,
  topFacetValues,
  type Ranked,
  type SearchQuery,
} from './search-query.ts';

/**
 * Search over the catalog's indexes, by one of two engines that rank alike (see search-query.ts): the replica's
 * in-memory mirror when it is current, otherwise Redis set operations over the indexes the indexer maintains
 * (a scored result kept in Redis for 60 s under the catalog generation, so paging and other replicas reuse it).
 * Either way, the hits of a page are then read from the catalog in one round trip.
 */
export type { SearchQuery } from './search-query.ts';

export type { SearchHit, SearchResult } from '@profiles/shared';

const RESULT_TTL_SECONDS = 60;
const HIGH = Buffer.from([0xff]);

export class Search {
  constructor(
    private readonly redis: Redis,
    private readonly keys: CatalogKeys,
    /** The replica's in-memory mirror, and the generation it reflects (undefined: not in step). */
    private readonly mirrored?: { mirror: SearchMirror; at: () => string | undefined },
  ) {}

  private queryHash(q: SearchQuery): string {
    // What only shapes the answer (page size, position, facet values listed) does not change the result.
    const { cursor: _c, limit: _l, facetLimit: _f, ...rest } = q;
    return createHash('sha256').update(JSON.stringify(rest)).digest('base64url').slice(0, 22);
  }

  /**
   * `generation`: the catalog generation the request saw (its ETag's), read from Redis when not given. The
   * mirror answers when it reflects exactly that generation; Redis otherwise.
   */
  async search(
    q: SearchQuery,
    generation?: string,
  ): Promise<{ result: SearchResult; engine: 'memory' | 'redis' }> {
    const hash = this.queryHash(q);
    const offset = q.cursor ? decodeCursor(q.cursor, hash) : 0;
    generation ??= (await this.redis.get(this.keys.generation())) ?? '0';
    const fromMirror =
      this.mirrored && this.mirrored.at() === generation
        ? this.mirrored.mirror.rank(q, `${generation} ${hash}`, offset)
        : undefined;
    const ranked = fromMirror ?? (await this.rankInRedis(q, generation, hash, offset));
    const items = await this.hits(q, ranked.page);
    const next = offset + q.limit < ranked.total ? encodeCursor(hash, offset + q.limit) : null;
    return {
      result: {
        total: ranked.total,
        items,
        ...topFacetValues(ranked.facets, q.facetLimit),
        nextCursor: next,
      },
      engine: fromMirror ? 'memory' : 'redis',
    };
  }

  private async rankInRedis(
    q: SearchQuery,
    generation: string,
    hash: string,
    offset: number,
  ): Promise<Ranked> {
    const result = this.keys.searchResult(generation, hash);
    if (!(await this.redis.exists(result))) await this.build(q, result);
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

  /** The entries of a page's hits, in one round trip: each profile's version order and versions. */
  private async hits(q: SearchQuery, scores: Ranked['page']): Promise<SearchHit[]> {
    const items: SearchHit[] = [];
    const pipe = this.redis.pipeline();
    for (const { member } of scores) {
      const { profile, sourceId } = parseProfileNameMember(member);
      pipe.get(this.keys.profileOrder(sourceId, profile));
      pipe.hgetall(this.keys.profile(sourceId, profile));
    }
    const docs = (await pipe.exec()) ?? [];
    for (const [i, { member, score }] of scores.entries()) {
      const { profile, sourceId } = parseProfileNameMember(member);
      const order = docs[2 * i]?.[1] as string | null | undefined;
      const map = (docs[2 * i + 1]?.[1] ?? {}) as Record<string, string>;
      if (!order) continue; // removed since the result was computed
      const all = (JSON.parse(order) as string[]).flatMap((v) =>
        map[v] ? [JSON.parse(map[v]) as CatalogEntry] : [],
      );
      const shown =
        q.prerelease === 'exclude'
          ? all.filter((e) => !isPrerelease(e.version))
          : q.prerelease === 'only'
            ? all.filter((e) => isPrerelease(e.version))
            : all;
      const latest = shown.find((e) => !isPrerelease(e.version)) ?? shown[0];
      if (!latest) continue;
      const hit: SearchHit = {
        catalog: sourceId,
        name: profile,
        score: Math.round(score * 100) / 100,
        latest,
      };
      if (q.versions === 'all') hit.versions = shown;
      items.push(hit);
    }
    return items;
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

  private async build(q: SearchQuery, result: string): Promise<void> {
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
          const candidates = await this.redis.sunion(
            ...[w, ...deletions(w)].map((v) => this.keys.searchDeletion(v)),
          );
          for (const t of candidates)
            if (t !== w && !prefixed.includes(t) && withinOneEdit(t, w))
              sources.push([this.keys.searchTerm(t), RANKING.typo]);
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
    const pipe = this.redis.pipeline();
    for (const m of members) {
      const { profile, sourceId } = parseProfileNameMember(m);
      pipe.get(this.keys.profileOrder(sourceId, profile));
    }
    const orders = (await pipe.exec()) ?? [];
    const drop: string[] = [];
    members.forEach((m, i) => {
      const versions = JSON.parse((orders[i]?.[1] as string | null) ?? '[]') as string[];
      const ok = versions.some((v) =>
        semver.satisfies(v, range, { includePrerelease: prerelease !== 'exclude' }),
      );
      if (!ok) drop.push(m);
    });
    if (drop.length) await this.redis.zrem(result, ...drop);
  }
}

export function encodeCursor(hash: string, offset: number): string {
  return Buffer.from(JSON.stringify({ h: hash, o: offset })).toString('base64url');
}

/** A cursor belongs to one query: garbage, or a cursor of another query, is a 400 naming `cursor`. */
export function decodeCursor(cursor: string, hash: string): number {
  const bad = (why: string): never => {
    throw new AppError('BAD_REQUEST', `cursor is invalid: ${why}`, { details: { parameter: 'cursor' } });
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return bad('not a cursor returned by this API');
  }
  const c = parsed as { h?: unknown; o?: unknown };
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.h !== 'string' ||
    !Number.isInteger(c.o) ||
    (c.o as number) < 0 ||
    (c.o as number) > 1_000_000
  ) {
    return bad('not a cursor returned by this API');
  }
  if (c.h !== hash) return bad('it belongs to another query');
  return c.o as number;
}
