/**
 * A catalog named in a URL is resolved from the sources the API follows (Visibility's copy, kept by the
 * catalog's announcements) instead of one Redis round trip per request, on a real redis-server with the
 * indexer's own writer: the answers are those Redis would give after every change a user makes — a source
 * added, a second one of the same name in another namespace, one deleted, the store wiped — and Redis is not
 * asked while the copy is in step.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogKeys, sourceId, type AppError, type SourceRef } from '@profiles/shared';
import { connectRedis, type Redis } from '@profiles/shared/runtime';
import { buildApp } from '../services/api/src/app.ts';
import { EVERYTHING } from '../services/api/src/auth/audience.ts';
import { Visibility } from '../services/api/src/auth/visibility.ts';
import { CatalogReader, type KnownSources } from '../services/api/src/catalog-reader.ts';
import { CatalogWriter } from '../services/indexer/src/catalog-writer.ts';
import { indexedUpdate, inlineSource } from './fixtures/inline-sources.ts';
import { getJson, startRedis, testLogger, waitFor, type LocalServer } from './harness/index.ts';

const prefix = 'known:';
const log = testLogger('known-sources');
let server: LocalServer;
let redis: Redis;
let writer: CatalogWriter;
let api: string;
let close: () => Promise<unknown>;
let seq = 0;

/** Writes source `catalog-<n>` of namespace `ns` (one profile, `<project>-<n>`) as the indexer would. */
async function put(n: number, ns: string): Promise<{ ref: SourceRef; profile: string }> {
  const { ref, entries } = inlineSource(n, 1, ns);
  await writer.upsert(
    indexedUpdate({ ref, seq: ++seq, origin: 'test', specHash: `${ns}-${n}-${seq}`, entries }),
  );
  return { ref, profile: entries[0]!.name };
}

/** SMEMBERS and SISMEMBER calls Redis has served so far (INFO commandstats). */
async function membershipReads(): Promise<number> {
  const stats = await redis.info('commandstats');
  return ['smembers', 'sismember']
    .map((c) => Number(new RegExp(`cmdstat_${c}:calls=(\\d+)`).exec(stats)?.[1] ?? 0))
    .reduce((a, b) => a + b, 0);
}

before(async () => {
  server = await startRedis();
  redis = connectRedis(server.url, log, 'test');
  writer = new CatalogWriter({ redis, keys: catalogKeys(prefix), log });
  const app = await buildApp({ redis, redisPrefix: prefix, log });
  api = await app.listen({ host: '127.0.0.1', port: 0 });
  close = () => app.close();
});
after(async () => {
  await close();
  redis.disconnect();
  await server.destroy();
});

test('catalog names resolve in process, exactly as Redis would answer, through add, clash, delete and wipe', async () => {
  const a = await put(7, 'team-a');
  const url = (catalog: string, profile = a.profile) =>
    `${api}/v1/catalogs/${encodeURIComponent(catalog)}/profiles/${profile}`;
  await waitFor(async () => (await getJson(url('catalog-7'))).status === 200, { what: 'catalog-7 served' });
  await waitFor(async () => (await getJson(`${api}/readyz`)).body.mirror?.loaded === true, {
    what: 'the API in step with the catalog',
  });

  // In step: a hundred reads by name and by id ask Redis for no source membership.
  const before = await membershipReads();
  for (let i = 0; i < 50; i++) {
    assert.equal((await getJson(url('catalog-7'))).status, 200);
    assert.equal((await getJson(url('team-a/catalog-7'))).status, 200);
  }
  assert.equal(await membershipReads(), before, 'no SMEMBERS/SISMEMBER while in step');
  assert.equal((await getJson(url('catalog-8'))).body.code, 'CATALOG_NOT_FOUND');
  assert.equal((await getJson(url('team-b/catalog-7'))).body.code, 'CATALOG_NOT_FOUND');

  // The same name in another namespace: the bare name becomes ambiguous as soon as the change is announced.
  await put(7, 'team-b');
  await waitFor(async () => (await getJson(url('catalog-7'))).status === 409, {
    what: 'ambiguous',
    intervalMs: 5,
  });
  const clash = await getJson(url('catalog-7'));
  assert.equal(clash.body.code, 'CATALOG_AMBIGUOUS');
  assert.deepEqual(clash.body.candidates, ['team-a/catalog-7', 'team-b/catalog-7']);
  assert.equal((await getJson(url('team-b/catalog-7'))).status, 200);

  // One deleted: the name resolves to the other again; the deleted id is gone.
  await writer.delete({ namespace: 'team-b', name: 'catalog-7' }, ++seq);
  await waitFor(async () => (await getJson(url('catalog-7'))).status === 200, {
    what: 'resolves again',
    intervalMs: 5,
  });
  assert.equal((await getJson(url('team-b/catalog-7'))).body.code, 'CATALOG_NOT_FOUND');

  // The store wiped: nothing is announced, the profile reads find nothing; once a change is announced (the
  // counter starts again, lower: a reset), the copy is loaded again and the old source is unknown.
  await redis.flushall();
  assert.equal((await getJson(url('catalog-7'))).status, 404);
  const c9 = await put(9, 'team-c');
  await waitFor(async () => (await getJson(url('catalog-7'))).body.code === 'CATALOG_NOT_FOUND', {
    what: 'the wiped source unknown',
    intervalMs: 5,
  });
  assert.equal((await getJson(url('catalog-9', c9.profile))).status, 200);
});

test('while a change is being applied, a guess from the copy held is read with its confirmation, or not used', async () => {
  const x = await put(21, 'team-x');
  const gone = await put(22, 'team-x');
  await writer.delete(gone.ref, ++seq);
  await put(23, 'team-x');
  await put(23, 'team-y'); // catalog-23 is in two namespaces now
  // Copies behind Redis as a replica's is while an announcement is applied: each knows one thing Redis no longer says.
  const behind = (ids: string[]): KnownSources => ({
    has: (id) => ids.includes(id),
    named: (name) => ids.filter((id) => id.endsWith(`/${name}`)),
    inStep: false,
  });
  const copy = behind(['team-x/catalog-21', 'team-x/catalog-22', 'team-x/catalog-23']);
  const guessing = new CatalogReader(redis, catalogKeys(prefix), EVERYTHING, () => copy);
  const plain = new CatalogReader(redis, catalogKeys(prefix));
  const answer = (r: CatalogReader, catalog: string, profile: string) =>
    r.versions(catalog, profile).then(
      (list) => list.map((e) => e.version),
      (err: AppError) => err.code,
    );
  const asked: [string, string][] = [
    ['catalog-21', x.profile], // the guess holds: one round trip
    ['team-x/catalog-21', x.profile],
    ['catalog-21', 'no-such-profile'],
    ['catalog-22', gone.profile], // deleted since the copy was made
    ['team-x/catalog-22', gone.profile],
    ['catalog-23', 'nats-23'], // a namesake came since
  ];
  for (const [catalog, profile] of asked)
    assert.deepEqual(
      await answer(guessing, catalog, profile),
      await answer(plain, catalog, profile),
      `${catalog} ${profile}`,
    );
  assert.equal(await answer(guessing, 'catalog-22', gone.profile), 'CATALOG_NOT_FOUND');
  assert.equal(await answer(guessing, 'catalog-23', 'nats-23'), 'CATALOG_AMBIGUOUS');
  const before = await membershipReads();
  await answer(guessing, 'catalog-21', x.profile);
  assert.equal(await membershipReads(), before + 1, 'a confirmed guess: its SMEMBERS only, in the read');
});

/** A client that counts its round trips: each pipeline, and each command sent on its own. */
function countingTrips(client: Redis): { client: Redis; trips: () => number } {
  let trips = 0;
  const counted = new Set([
    'pipeline',
    'multi',
    'smembers',
    'sismember',
    'get',
    'hgetall',
    'hmget',
    'zmscore',
  ]);
  const proxy = new Proxy(client, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (typeof prop === 'string' && counted.has(prop)) trips++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { client: proxy, trips: () => trips };
}

test('a source announced and not yet reloaded is guessed from its announcement: one round trip, Redis decides', async () => {
  const keys = catalogKeys(prefix);
  // A replica's Visibility between an announcement and its reload (not in step).
  const visibility = new Visibility({
    reader: new CatalogReader(redis, keys),
    defaultAccess: 'public',
    live: () => true,
    inStep: () => false,
  });
  await visibility.reloadAll();
  const fresh = await put(31, 'team-z'); // written after the copy was made
  const counting = countingTrips(redis);
  const guessing = new CatalogReader(counting.client, keys, EVERYTHING, () => visibility.known());
  const plain = new CatalogReader(redis, keys);
  const names = (r: CatalogReader, catalog: string, profile: string) =>
    r.versions(catalog, profile).then(
      (list) => list.map((e) => e.version),
      (err: AppError) => err.code,
    );
  const expected = await names(plain, 'catalog-31', fresh.profile);
  assert.equal(expected.length, 1);
  const trips = async (catalog: string, profile: string, answer: unknown) => {
    const before = counting.trips();
    assert.deepEqual(await names(guessing, catalog, profile), answer, `${catalog} ${profile}`);
    return counting.trips() - before;
  };
  // Not in the copy: resolved in Redis first, then read.
  assert.equal(await trips('catalog-31', fresh.profile, expected), 2);
  // Announced: guessed, and the guess confirmed in the read itself.
  visibility.announced(sourceId(fresh.ref));
  assert.equal(await trips('catalog-31', fresh.profile, expected), 1);
  assert.equal(await trips('team-z/catalog-31', fresh.profile, expected), 1);
  // Announced but not in Redis (deleted meanwhile): the guess fails and the name resolves as before.
  visibility.announced('team-z/catalog-404');
  assert.equal(await trips('catalog-404', 'any', 'CATALOG_NOT_FOUND'), 2);
  // Its reload ends the guess: the copy holds what Redis holds.
  await visibility.reloadSource(sourceId(fresh.ref));
  await visibility.reloadSource('team-z/catalog-404');
  assert.deepEqual(visibility.known()?.named('catalog-31'), [sourceId(fresh.ref)]);
  assert.deepEqual(visibility.known()?.named('catalog-404'), []);
});
