import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { catalogKeys, deletions, SEARCH_LAYOUT_VERSION, TYPO_MIN_LENGTH } from '@profiles/shared';
import { connectRedis, silentLogger, type Redis } from '@profiles/shared/runtime';
import { typoCandidates } from '../services/api/src/search-redis.ts';
import { TermIndex } from '../services/indexer/src/search-index.ts';
import { migrateSearchLayout } from '../services/indexer/src/search-layout.ts';
import { startRedis, type LocalServer } from './harness/index.ts';

/**
 * The typo index as one sorted set (`idx:typo`) against the layout it replaced (a set per variant,
 * `idx:del:{variant}`, read with SUNION), on a real redis-server: the same terms give the same typo
 * candidates for any word, and a catalog of the old layout is migrated to answers equal to the old ones.
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

/** What the indexer of layout 1 wrote for these terms: the term list and one SADD per variant. */
async function writeOldLayout(prefix: string, terms: string[]): Promise<void> {
  const keys = catalogKeys(prefix);
  const pipe = redis.pipeline();
  for (const t of terms) {
    pipe.zadd(keys.searchTerms(), 0, t);
    if (t.length < TYPO_MIN_LENGTH) continue;
    for (const v of [t, ...deletions(t)]) pipe.sadd(`${prefix}idx:del:${v}`, t);
  }
  await pipe.exec();
}

/** How the API of layout 1 found candidates: the union of the word's variants' sets. */
async function oldCandidates(prefix: string, w: string): Promise<string[]> {
  return (await redis.sunion(...[w, ...deletions(w)].map((v) => `${prefix}idx:del:${v}`))).sort();
}

async function newCandidates(prefix: string, w: string): Promise<string[]> {
  return [...(await typoCandidates(redis, catalogKeys(prefix), w))].sort();
}

// A small alphabet so that random terms and words often are one deletion apart.
const word = fc.stringMatching(/^[abc.-]{3,8}$/);

test('for random terms and words, the sorted set finds exactly the candidates the sets per variant found', async () => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(word, { maxLength: 40 }),
      fc.array(word, { minLength: 1, maxLength: 8 }),
      async (terms, words) => {
        const prefix = `p${run++}:`;
        await writeOldLayout(prefix, terms);
        // Split across two plans, as consecutive writes would send them.
        for (const part of [terms.slice(0, terms.length >> 1), terms.slice(terms.length >> 1)]) {
          const index = new TermIndex();
          for (const t of part) index.add(t);
          for (const [cmd, ...args] of index.commands(catalogKeys(prefix))) await redis.call(cmd, ...args);
        }
        for (const w of [...words, ...terms].filter((x) => x.length >= TYPO_MIN_LENGTH))
          assert.deepEqual(await newCandidates(prefix, w), await oldCandidates(prefix, w), `word ${w}`);
      },
    ),
    { numRuns: 60 },
  );
});

test('a catalog of the old layout is migrated once: same answers, the old keys gone, the version recorded', async () => {
  const prefix = 'old:';
  const keys = catalogKeys(prefix);
  const terms = [
    'nginx',
    'ingress',
    'redis',
    'prometheus',
    'grafana',
    'kafka',
    'haproxy',
    'metallb',
    'thanos',
  ];
  await writeOldLayout(prefix, terms);
  const words = ['ngnix', 'prometheu', 'grafnaa', 'thanso', 'redsi', 'kafak', 'metalb', 'ingres'];
  const before = await Promise.all(words.map((w) => oldCandidates(prefix, w)));
  assert.ok(
    before.some((c) => c.length > 0),
    'the old layout finds typos',
  );
  assert.deepEqual(await newCandidates(prefix, 'ngnix'), [], 'nothing in the new layout before the upgrade');

  assert.equal(await migrateSearchLayout({ redis, keys, log: silentLogger() }), terms.length);
  assert.deepEqual(await Promise.all(words.map((w) => newCandidates(prefix, w))), before);
  assert.deepEqual(await redis.keys(`${prefix}idx:del:*`), [], 'the old sets are deleted');
  assert.equal(await redis.get(keys.searchLayout()), String(SEARCH_LAYOUT_VERSION));

  // Current already: a second start migrates nothing, even if an old key reappeared.
  await redis.sadd(`${prefix}idx:del:stale`, 'stale');
  assert.equal(await migrateSearchLayout({ redis, keys, log: silentLogger() }), 0);
  assert.equal(await redis.exists(`${prefix}idx:del:stale`), 1);
});

test('an empty Redis is marked current at once (a new catalog is written in the new layout)', async () => {
  const keys = catalogKeys('fresh:');
  assert.equal(await migrateSearchLayout({ redis, keys, log: silentLogger() }), 0);
  assert.equal(await redis.get(keys.searchLayout()), String(SEARCH_LAYOUT_VERSION));
});
