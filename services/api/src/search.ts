import { createHash } from 'node:crypto';
import {
  AppError,
  isPrerelease,
  parseProfileNameMember,
  type SearchHit,
  type SearchResult,
} from '@profiles/shared';
import type { CatalogReader } from './catalog-reader.ts';
import type { SearchEngine } from './search-engine.ts';
import { topFacetValues, type Ranked, type SearchQuery } from './search-query.ts';

export type { SearchQuery } from './search-query.ts';

export type { SearchHit, SearchResult } from '@profiles/shared';

/**
 * Search over the catalog: picks the first engine that can answer for the request's generation (the replica's
 * in-memory mirror when it is current, otherwise Redis; see search-engine.ts), pages with a cursor bound to the
 * query, then reads the page's hits from the catalog in one round trip.
 */
export class Search {
  constructor(
    /** In order of preference; the last must always answer. */
    private readonly engines: readonly SearchEngine[],
  ) {}

  private queryHash(q: SearchQuery): string {
    // What only shapes the answer (page size, position, facet values listed) does not change the result.
    const { cursor: _c, limit: _l, facetLimit: _f, ...rest } = q;
    return createHash('sha256').update(JSON.stringify(rest)).digest('base64url').slice(0, 22);
  }

  /**
   * `reader`: the request's (its audience decides what is found, counted and faceted); `generation`: the catalog
   * generation the request saw (its ETag's), read from the catalog when not given. `unless`: the `stable` of a
   * page of this query already made; when the ranking says the result is still that one, the answer is just
   * `{ unchanged: true }` (no entries read, nothing encoded: the page made holds).
   */
  async search(
    q: SearchQuery,
    reader: CatalogReader,
    generation?: string,
    unless?: string,
  ): Promise<
    | { result: SearchResult; engine: SearchEngine['name']; stable?: string }
    | { unchanged: true; engine: SearchEngine['name'] }
  > {
    const hash = this.queryHash(q);
    const offset = q.cursor ? decodeCursor(q.cursor, hash) : 0;
    const at = {
      generation: generation ?? (await reader.generation()),
      hash,
      offset,
      audience: reader.audience,
    };
    let ranked: Ranked | undefined;
    let engine: SearchEngine['name'] = 'redis';
    for (const e of this.engines) {
      ranked = await e.rank(q, at);
      engine = e.name;
      if (ranked) break;
    }
    if (!ranked) throw new AppError('INTERNAL', 'no search engine answered');
    if (unless !== undefined && ranked.stable === unless) return { unchanged: true, engine };
    const items = await hits(reader, q, ranked.page);
    const next = offset + q.limit < ranked.total ? encodeCursor(hash, offset + q.limit) : null;
    return {
      result: {
        total: ranked.total,
        items,
        ...(ranked.facetTotals
          ? { facets: ranked.facets, facetTotals: ranked.facetTotals }
          : topFacetValues(ranked.facets, q.facetLimit)),
        nextCursor: next,
      },
      engine,
      ...(ranked.stable !== undefined ? { stable: ranked.stable } : {}),
    };
  }
}

/** The entries of a page's hits, in one round trip, through the request's reader (its audience's view). */
async function hits(reader: CatalogReader, q: SearchQuery, scores: Ranked['page']): Promise<SearchHit[]> {
  const refs = scores.map((s) => parseProfileNameMember(s.member));
  const entries = await reader.entriesOf(refs);
  const items: SearchHit[] = [];
  for (const [i, { score }] of scores.entries()) {
    const all = entries[i];
    if (!all) continue; // removed since the result was computed
    const shown =
      q.prerelease === 'exclude'
        ? all.filter((e) => !isPrerelease(e.version))
        : q.prerelease === 'only'
          ? all.filter((e) => isPrerelease(e.version))
          : all;
    const latest = shown.find((e) => !isPrerelease(e.version)) ?? shown[0];
    if (!latest) continue;
    const hit: SearchHit = {
      catalog: refs[i]!.sourceId,
      name: refs[i]!.profile,
      score: Math.round(score * 100) / 100,
      latest,
    };
    if (q.versions === 'all') hit.versions = shown;
    items.push(hit);
  }
  return items;
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
