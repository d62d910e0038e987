/**
 * Properties of the in-memory ranking, over random catalogs, changes and queries: a result the mirror brings
 * up to date across changes (search-result-update.ts) is always the one an index built from scratch gives, and
 * the partial selection of a first page is always the full sort's first k.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { profileNameMember, SEARCH_FACETS, searchDocument, type CatalogEntry } from '@profiles/shared';
import { EVERYTHING } from './auth/audience.ts';
import { SearchIndex } from './search-index.ts';
import { SearchMirror } from './search-mirror.ts';
import { matchQuery, topFacetsOf, topK } from './search-ranking.ts';
import { topFacetValues, type Ranked, type SearchQuery } from './search-query.ts';

const WORDS = ['probe', 'prober', 'prom', 'prometheus', 'alpha', 'alpine', 'zephyr', 'nginx', 'mesh'];

interface Profile {
  source: string;
  name: string;
  description: string[];
  maintainer: string;
  versions: string[];
}

const profile = fc.record({
  source: fc.constantFrom('one', 'two', 'three'),
  name: fc.constantFrom('a', 'b', 'probe', 'alpha', 'nginx', 'prom-x', 'zz'),
  description: fc.array(fc.constantFrom(...WORDS), { maxLength: 4 }),
  maintainer: fc.constantFrom('team', 'ops'),
  versions: fc.uniqueArray(fc.constantFrom('1.0.0', '1.2.0', '2.0.0-rc.1'), { minLength: 1, maxLength: 2 }),
});

const change = fc.oneof(
  profile.map((p) => ({ put: p })),
  fc.record({
    remove: fc.record({ source: profile.map((p) => p.source), name: profile.map((p) => p.name) }),
  }),
);

const searchQuery = fc.record({
  q: fc.oneof(
    fc.constantFrom('', 'probe', 'prom', 'alpha', 'nginx mesh', 'zephir', 'pro', 'alpha prom mesh'),
    fc.constantFrom(...WORDS),
  ),
  limit: fc.constant(4),
  prerelease: fc.constantFrom('include', 'exclude', 'only'),
  sort: fc.constantFrom('relevance', 'name', 'updated'),
  versions: fc.constant('latest'),
  facetLimit: fc.constant(10),
  maintainer: fc.option(fc.constantFrom('team', 'ops'), { nil: undefined }),
  version: fc.option(fc.constantFrom('^1', '>=2.0.0-0'), { nil: undefined }),
}) as fc.Arbitrary<SearchQuery>;

const member = (p: Pick<Profile, 'name' | 'source'>) => profileNameMember(p.name, `ns/${p.source}`);

function putProfile(index: SearchIndex, p: Profile, updated: number): void {
  const entries = p.versions.map((version): CatalogEntry => ({
    tag: `${p.name}/v${version}`,
    catalogSource: p.source,
    url: '',
    name: p.name,
    description: p.description.join(' '),
    maintainer: p.maintainer,
    prerequisites: [],
    version,
    catalogNamespace: 'ns',
    origin: 'inline',
    indexedAt: new Date(0).toISOString(),
  }));
  index.put(`ns/${p.source}`, member(p), searchDocument(entries)!, updated, p.versions);
}

/** Pages at `offsets` (the first two by default), total and facets of each query (keyed by its place, or text). */
function answers(engine: SearchMirror, queries: SearchQuery[], offsets = [0, 4], byText = false) {
  return queries.map((q, i) =>
    offsets.map((offset) => {
      const hash = byText ? JSON.stringify(q) : String(i);
      const r = engine.rank(q, { generation: 'g', hash, offset, audience: EVERYTHING }) as Ranked;
      return { total: r.total, page: r.page, facets: r.facets, facetTotals: r.facetTotals };
    }),
  );
}

type Change = { put: Profile } | { remove: Pick<Profile, 'name' | 'source'> };

/**
 * A live index holding `initial` and then each change applied, beside what it holds by member (with each one's
 * last change), from which an index is built from scratch at any point.
 */
function liveCatalog(initial: Profile[]) {
  const held = new Map<string, { p: Profile; updated: number }>();
  let clock = 0;
  const live = new SearchIndex();
  const apply = (c: Change) => {
    if ('put' in c) {
      held.set(member(c.put), { p: c.put, updated: ++clock });
      putProfile(live, c.put, clock);
    } else {
      held.delete(member(c.remove));
      live.remove(member(c.remove));
    }
  };
  initial.forEach((p) => apply({ put: p }));
  live.seal();
  const fresh = () => {
    const index = new SearchIndex();
    for (const { p, updated } of held.values()) putProfile(index, p, updated);
    return index.seal();
  };
  return { live, apply, fresh };
}

/**
 * Answers every query on `initial` (kept by the engine), then after each change checks the kept answers against
 * those of an index built from scratch from what the catalog holds then.
 */
function keptEqualsScratch(
  initial: Profile[],
  changes: Change[],
  queries: SearchQuery[],
  offsets?: number[],
) {
  const catalog = liveCatalog(initial);
  const engine = new SearchMirror({ index: catalog.live });
  answers(engine, queries, offsets); // computed now, kept for after the changes
  for (const c of changes) {
    catalog.apply(c);
    assert.deepEqual(
      answers(engine, queries, offsets),
      answers(new SearchMirror({ index: catalog.fresh() }), queries, offsets),
    );
  }
}

test('results kept across changes equal those of an index built from scratch', () => {
  fc.assert(
    fc.property(
      fc.array(profile, { maxLength: 25 }),
      fc.array(change, { minLength: 1, maxLength: 8 }),
      fc.array(searchQuery, { minLength: 1, maxLength: 6 }),
      (initial, changes, queries) => keptEqualsScratch(initial, changes, queries),
    ),
    { numRuns: 300 },
  );
});

test('a result the mirror names unchanged across a change is the one before, none of its page’s profiles changed', () => {
  // Search pages are confirmed at a new generation as they are when the ranking's `stable` did not move: that
  // must imply the same answer, and that no profile shown (whose entries the page holds) was changed.
  let kept = 0;
  let moved = 0;
  fc.assert(
    fc.property(
      fc.array(profile, { maxLength: 25 }),
      fc.array(change, { minLength: 1, maxLength: 8 }),
      fc.array(searchQuery, { minLength: 1, maxLength: 6 }),
      (initial, changes, queries) => {
        const catalog = liveCatalog(initial);
        const engine = new SearchMirror({ index: catalog.live });
        const rankAll = () =>
          queries.map((q, i) =>
            [0, 4].map(
              (offset) =>
                engine.rank(q, { generation: 'g', hash: String(i), offset, audience: EVERYTHING }) as Ranked,
            ),
          );
        let before = rankAll();
        for (const c of changes) {
          const changed = member('put' in c ? c.put : c.remove);
          catalog.apply(c);
          const after = rankAll();
          after.forEach((pages, i) =>
            pages.forEach((r, j) => {
              const b = before[i]![j]!;
              assert.ok(r.stable !== undefined);
              if (r.stable !== b.stable) return void moved++;
              kept++;
              assert.deepEqual(r, b);
              assert.ok(
                !r.page.some((h) => h.member === changed),
                'a changed profile is on a page named unchanged',
              );
            }),
          );
          before = after;
        }
      },
    ),
    { numRuns: 300 },
  );
  assert.ok(kept > 0 && moved > 0, `both seen (kept ${kept}, moved ${moved})`);
});

test('results kept across changes equal fresh ones beyond the first pages’ selection (100 hits)', () => {
  // Catalogs larger than the selection, so a change can take hits out of a head that is not the whole result;
  // pages end within it, at its end, and beyond it (the full sort).
  const many = fc
    .record({ n: fc.integer({ min: 0, max: 179 }), rest: profile })
    .map(({ n, rest }): Profile => ({ ...rest, name: `p${n}` }));
  const churn = fc.oneof(
    many.map((p) => ({ put: p })),
    many.map((p) => ({ remove: p })),
  );
  const queries = fc.array(
    searchQuery.map((q) => ({ ...q, limit: 10, version: undefined, maintainer: undefined })),
    { minLength: 1, maxLength: 4 },
  );
  fc.assert(
    fc.property(
      fc.array(many, { minLength: 110, maxLength: 200 }),
      fc.array(churn, { minLength: 1, maxLength: 6 }),
      queries,
      (initial, changes, qs) => keptEqualsScratch(initial, changes, qs, [0, 85, 90, 100]),
    ),
    { numRuns: 60 },
  );
});

test('the facets listed from a result’s counts are topFacetValues of all its counts, in the same order', () => {
  const many = fc
    .record({ rest: profile, maintainer: fc.constantFrom('a', 'b', 'c', '1', 'team', 'ops') })
    .map(({ rest, maintainer }): Profile => ({ ...rest, maintainer }));
  fc.assert(
    fc.property(
      fc.array(many, { maxLength: 40 }),
      searchQuery,
      fc.integer({ min: 0, max: 4 }),
      (catalog, q, limit) => {
        const index = new SearchIndex();
        catalog.forEach((p, i) => putProfile(index, p, i));
        index.seal();
        const full = matchQuery(index, q, EVERYTHING);
        // Every value's count, as a record built value by value (what the Redis engine hands topFacetValues).
        const all: Record<string, Record<string, number>> = {};
        full.counts.forEach((n, f) => {
          const [facet, value] = index.facetValues[f]!;
          if (n > 0 && (SEARCH_FACETS as readonly string[]).includes(facet)) (all[facet] ??= {})[value] = n;
        });
        assert.equal(
          JSON.stringify(topFacetsOf(index, full, limit)),
          JSON.stringify(topFacetValues(all, limit)),
        );
      },
    ),
    { numRuns: 300 },
  );
});

test('the partial selection of a first page is the full sort’s first k, scanned from either end', () => {
  const IDS = 2000;
  fc.assert(
    fc.property(
      fc.uniqueArray(
        fc.record({ id: fc.integer({ min: 0, max: IDS - 1 }), s: fc.integer({ min: 0, max: 5 }) }),
        { selector: (h) => h.id, maxLength: 300 },
      ),
      fc.integer({ min: 0, max: 120 }),
      fc.boolean(),
      fc.constantFrom('relevance', 'updated', 'name'),
      fc.integer({ min: 0, max: 1_000_000 }),
      (hits, k, fromEnd, sort, seed) => {
        const ids = hits.map((h) => h.id);
        const scores = hits.map((h) => h.s);
        const scoreOf = new Map(hits.map((h) => [h.id, h.s]));
        // Member places: a shuffle of the ids (distinct, as in the index); last changes: a few values, tied often.
        const rank = new Float64Array(IDS).map((_, id) => ((id * 7919 + seed) % IDS) * 1024);
        const updated = new Float64Array(IDS).map((_, id) => (id * 31 + seed) % 4);
        // The orders as SearchQuery documents them, written out plainly.
        const before = (a: number, b: number) => {
          if (sort === 'name') return rank[a]! < rank[b]!;
          const ka = sort === 'updated' ? updated[a]! : scoreOf.get(a)!;
          const kb = sort === 'updated' ? updated[b]! : scoreOf.get(b)!;
          return ka !== kb ? ka > kb : rank[a]! > rank[b]!;
        };
        const sorted = [...ids].sort((a, b) => (before(a, b) ? -1 : 1));
        const order =
          sort === 'name'
            ? { rank, key: rank, sign: -1 }
            : sort === 'updated'
              ? { rank, key: updated, sign: 1 }
              : { rank, sign: 1 };
        const top = topK(ids, scores, k, order, fromEnd);
        assert.deepEqual(top.ids, sorted.slice(0, k));
        assert.deepEqual(
          top.scores,
          sorted.slice(0, k).map((id) => scoreOf.get(id)),
        );
      },
    ),
    { numRuns: 800 },
  );
});

test('a mirror not in step answers undefined at once; one a little behind waits for its generation', async () => {
  const index = new SearchIndex();
  putProfile(
    index,
    { source: 'one', name: 'probe', description: [], maintainer: 'team', versions: ['1.0.0'] },
    1,
  );
  index.seal();
  const q = {
    q: 'probe',
    limit: 4,
    prerelease: 'include',
    sort: 'relevance',
    versions: 'latest',
    facetLimit: 0,
  } as const;
  const req = { generation: '7', hash: 'h', offset: 0, audience: EVERYTHING };
  let at: string | undefined;
  let waited = 0;
  const engine = new SearchMirror(
    { index },
    () => at,
    async () => {
      waited++;
      at = '7';
      return true;
    },
  );
  assert.equal(engine.rank(q, req), undefined, 'not synced: no wait, Redis answers');
  assert.equal(waited, 0);
  at = '6';
  const ranked = await engine.rank(q, req);
  assert.equal(waited, 1);
  assert.equal(ranked?.total, 1, 'answered once the mirror reached the generation');
});

test('results dropped from a small cache lend their arrays to later ones, and every answer stays exact', async () => {
  let reused = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(profile, { maxLength: 25 }),
      fc.array(
        fc.oneof(
          change,
          searchQuery.map((q) => ({ q })),
        ),
        { minLength: 1, maxLength: 30 },
      ),
      async (initial, steps) => {
        const catalog = liveCatalog(initial);
        // Two results at most, and none over 5 hits: nearly every query drops one, whose arrays the next takes.
        const engine = new SearchMirror({ index: catalog.live }, undefined, undefined, {
          maxEntries: 2,
          maxWeight: 6,
        });
        for (const step of steps) {
          if ('q' in step) {
            const q = [step.q];
            const fresh = new SearchMirror({ index: catalog.fresh() });
            assert.deepEqual(answers(engine, q, [0, 4], true), answers(fresh, q));
          } else catalog.apply(step);
          await Promise.resolve(); // the dropped results' arrays go back to the pool here
          if (catalog.live.hitPool.bytes > 0) reused++;
        }
      },
    ),
    { numRuns: 150 },
  );
  assert.ok(reused > 0, 'arrays were given back to the pool and taken again');
});
