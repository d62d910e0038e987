import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { catalogKeys, SEARCH_LAYOUT_VERSION, TYPO_MIN_LENGTH, withinOneEdit } from '@profiles/shared';
import { connectRedis, silentLogger, type Redis } from '@profiles/shared/runtime';
import { SearchIndex } from '../services/api/src/search-index.ts';
import { typoCandidates } from '../services/api/src/search-redis.ts';
import { SearchAdditions } from '../services/indexer/src/search-index.ts';
import { migrateSearchLayout } from '../services/indexer/src/search-layout.ts';
import { startRedis, type LocalServer } from './harness/index.ts';

/**
 * Typos without a typo index: both engines look a word's one-edit strings up among the indexed terms (Redis:
 * ZMSCORE of `idx:terms`; the mirror: its postings). On a real redis-server, for random terms and words, both
 * find exactly the terms one edit away, which is what the typo indexes of layouts 1 (a set per one-deletion
 * variant, read with SUNION) and 2 (one sorted set) found; a catalog of either layout is migrated by deleting
 * its index, with the same answers.
 */
let server: LocalServer;
let redis: Redis;

before(async () => {
  server = await startRedis();
  redis = connectRedis(server.url, silentLogger(), 'typo-index', { autoPipelining: false });
});

after(async () => {
  redis.disconnect();
  await server.destroy();
});

const deletions = (t: string) => [...new Set([...t].map((_, i) => t.slice(0, i) + t.slice(i + 1)))];

/** The terms one edit from `w` (5+ characters, `w` excluded), by brute force: what a typo of `w` may mean. */
const oneEditOf = (terms: string[], w: string) =>
  terms.filter((t) => t !== w && t.length >= TYPO_MIN_LENGTH && withinOneEdit(t, w)).sort();

/** What the indexer of layout 1 (`idx:del:{variant}` sets) or 2 (`idx:typo`) wrote for these terms. */
async function writeOldLayout(prefix: string, layout: 1 | 2, terms: string[]): Promise<void> {
  const keys = catalogKeys(prefix);
  const pipe = redis.pipeline();
  for (const t of terms) {
    pipe.zadd(keys.searchTerms(), 0, t);
    if (t.length < TYPO_MIN_LENGTH) continue;
    for (const v of [t, ...deletions(t)])
      if (layout === 1) pipe.sadd(`${prefix}idx:del:${v}`, t);
      else pipe.zadd(keys.legacySearchTypos(), 0, `${v} ${t}`);
  }
  if (layout === 2) pipe.set(keys.searchLayout(), '2');
  await pipe.exec();
}

/** How the API of layout 1 found typos: the union of the word's variants' sets, kept within one edit. */
async function layout1Answer(prefix: string, w: string): Promise<string[]> {
  const found = await redis.sunion(...[w, ...deletions(w)].map((v) => `${prefix}idx:del:${v}`));
  return found.filter((t) => t !== w && withinOneEdit(t, w)).sort();
}

async function redisAnswer(prefix: string, w: string): Promise<string[]> {
  // Unfiltered: the candidates themselves must be exactly the terms one edit away (the engines use them as is).
  return [...(await typoCandidates(redis, catalogKeys(prefix), w))].sort();
}

function mirrorOf(terms: string[]): SearchIndex {
  const index = new SearchIndex();
  terms.forEach((t, i) =>
    index.put('ns/src', `p${i} ns/src`, { name: `p${i}`, weights: new Map([[t, 1]]), facets: [] }, 0, [
      '1.0.0',
    ]),
  );
  return index.seal();
}

// A small alphabet so that random terms and words often are one edit apart.
const word = fc.stringMatching(/^[abc.-]{3,8}$/);

test('for random terms and words, Redis and the mirror find exactly the terms one edit away', async () => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(word, { maxLength: 40 }),
      fc.array(word, { minLength: 1, maxLength: 8 }),
      async (terms, words) => {
        const prefix = `p${run++}:`;
        // Split across two plans, as consecutive writes would send them.
        for (const part of [terms.slice(0, terms.length >> 1), terms.slice(terms.length >> 1)]) {
          const index = new SearchAdditions(catalogKeys(prefix), []);
          for (const t of part) index.term(t, 1, 'some-profile ns/cat');
          for (const [cmd, ...args] of index.head()) await redis.call(cmd, ...args);
        }
        const mirror = mirrorOf(terms);
        for (const w of [...words, ...terms].filter((x) => x.length >= TYPO_MIN_LENGTH)) {
          const expected = oneEditOf(terms, w);
          assert.deepEqual(await redisAnswer(prefix, w), expected, `redis, word ${w}`);
          assert.deepEqual([...mirror.typoTerms(w)].sort(), expected, `mirror, word ${w}`);
        }
      },
    ),
    { numRuns: 60 },
  );
});

const TERMS = ['nginx', 'ingress', 'redis', 'prometheus', 'grafana', 'kafka', 'haproxy', 'metallb', 'thanos'];
const WORDS = ['ngnix', 'prometheu', 'grafnaa', 'thanso', 'redsi', 'kafak', 'metalb', 'ingres'];

for (const layout of [1, 2] as const)
  test(`a catalog of layout ${layout} is migrated once: same answers, its typo index gone, the version recorded`, async () => {
    const prefix = `old${layout}:`;
    const keys = catalogKeys(prefix);
    await writeOldLayout(prefix, layout, TERMS);
    const expected = WORDS.map((w) => oneEditOf(TERMS, w));
    assert.ok(
      expected.every((t) => t.length > 0),
      'every word is a typo of a term',
    );
    if (layout === 1)
      assert.deepEqual(await Promise.all(WORDS.map((w) => layout1Answer(prefix, w))), expected);

    assert.ok((await migrateSearchLayout({ redis, keys, log: silentLogger() })) > 0);
    assert.deepEqual(await Promise.all(WORDS.map((w) => redisAnswer(prefix, w))), expected);
    assert.deepEqual(await redis.keys(`${prefix}idx:del:*`), [], 'the sets per variant are deleted');
    assert.equal(await redis.exists(keys.legacySearchTypos()), 0, 'the sorted set is deleted');
    assert.equal(await redis.get(keys.searchLayout()), String(SEARCH_LAYOUT_VERSION));

    // Current already: a second start scans nothing, but drops an `idx:typo` an old indexer wrote meanwhile.
    await redis.sadd(`${prefix}idx:del:stale`, 'stale');
    await redis.zadd(keys.legacySearchTypos(), 0, 'ngix nginx');
    assert.equal(await migrateSearchLayout({ redis, keys, log: silentLogger() }), 1);
    assert.equal(await redis.exists(keys.legacySearchTypos()), 0);
    assert.equal(await redis.exists(`${prefix}idx:del:stale`), 1);
  });

test('an empty Redis is marked current at once (a new catalog is written in the new layout)', async () => {
  const keys = catalogKeys('fresh:');
  assert.equal(await migrateSearchLayout({ redis, keys, log: silentLogger() }), 0);
  assert.equal(await redis.get(keys.searchLayout()), String(SEARCH_LAYOUT_VERSION));
});
