/**
 * A search page is confirmed at a new catalog generation as it is when the change was elsewhere in the catalog
 * (the mirror says the query's result did not move), instead of its profiles being read again and the answer
 * encoded again: on a real redis-server with the indexer's own writer, the pages answered across changes are
 * byte for byte those an API started afresh computes, the confirmed ones cost no catalog read, and a profile
 * changed twice within one millisecond of the writer's clock is still seen changed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogKeys, type CatalogEntry, type SourceRef } from '@profiles/shared';
import { connectRedis, type Redis } from '@profiles/shared/runtime';
import { buildApp } from '../services/api/src/app.ts';
import { CatalogWriter } from '../services/indexer/src/catalog-writer.ts';
import { indexedUpdate, inlineSource } from './fixtures/inline-sources.ts';
import { getJson, startRedis, testLogger, waitFor, type LocalServer } from './harness/index.ts';

const prefix = 'carried:';
const log = testLogger('search-pages-carried');
let server: LocalServer;
let redis: Redis;
let writer: CatalogWriter;
let seq = 0;
const closers: (() => Promise<unknown>)[] = [];

/** Source `catalog-<n>` (60 versions, ~20 profiles named `<project>-<n>`), `edit` applied to its entries. */
async function put(n: number, edit: (e: CatalogEntry) => CatalogEntry = (e) => e): Promise<SourceRef> {
  const source = inlineSource(n, 60, 'carry', new Date(0).toISOString());
  const entries = source.entries.map(edit);
  await writer.upsert(
    indexedUpdate({ ref: source.ref, seq: ++seq, origin: 'test', specHash: `spec-${seq}`, entries }),
  );
  return source.ref;
}

/** An API on the catalog, once its mirror holds all of it. */
async function startApi(): Promise<string> {
  const app = await buildApp({ redis, redisPrefix: prefix, log });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  closers.push(() => app.close());
  await waitFor(async () => (await getJson(`${url}/readyz`)).body.mirror?.loaded === true, {
    what: 'mirror loaded',
  });
  return url;
}

const search = async (api: string, q: string) => {
  const res = await fetch(`${api}/v1/search?q=${encodeURIComponent(q)}&limit=5`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-search-engine'), 'memory');
  return res.text();
};

/** HGETALL calls Redis has served so far (a page's profiles are read with one per hit). */
async function profileReads(): Promise<number> {
  return Number(/cmdstat_hgetall:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
}

before(async () => {
  server = await startRedis();
  redis = connectRedis(server.url, log, 'test');
  // One millisecond for every write: changes of one profile must still be told apart.
  writer = new CatalogWriter({ redis, keys: catalogKeys(prefix), log, now: () => 1_700_000_000_000 });
});
after(async () => {
  for (const close of closers) await close();
  redis.disconnect();
  await server.destroy();
});

test('pages confirmed across changes elsewhere are those a fresh API computes, and read nothing', async () => {
  for (const n of [1, 2, 3]) await put(n);
  const api = await startApi();
  const untouched = ['redis', 'nginx', 'grafana dashboards'];
  const touched = ['postgres', ''];
  const first = new Map<string, string>();
  for (const q of [...untouched, ...touched]) first.set(q, await search(api, q));
  assert.match(first.get('postgres')!, /postgres-2/, 'the profile to change is on the page');
  assert.match(first.get('')!, /"total":63/, 'and in the empty query’s result (not on its first page)');

  const describe = (text: string) => (e: CatalogEntry) =>
    e.name === 'postgres-2' ? { ...e, description: `PostgreSQL relational database, ${text}` } : e;
  await put(2, describe('changed once'));
  await waitFor(async () => (await search(api, 'postgres')).includes('changed once'), {
    what: 'the change served',
    intervalMs: 5,
  });
  const reads = await profileReads();
  for (const q of untouched) assert.equal(await search(api, q), first.get(q), `"${q}": the page of before`);
  assert.equal(await profileReads(), reads, 'confirmed pages read no profile');
  await search(api, '');
  assert.ok((await profileReads()) > reads, 'a result holding the changed profile is paged again');

  // Changed again within the same millisecond of the writer's clock, its version list the same.
  await put(2, describe('changed twice'));
  await waitFor(async () => (await search(api, 'postgres')).includes('changed twice'), {
    what: 'the second change served',
    intervalMs: 5,
  });
  const fresh = await startApi();
  for (const q of [...untouched, ...touched])
    assert.equal(await search(api, q), await search(fresh, q), `"${q}": as an API started now answers`);
});
