/**
 * A Redis that loses the catalog (FLUSHALL, a restart without its data, a restored older copy) is noticed
 * and rebuilt from the sources stream, with readiness false until the catalog is whole again; goal: consistent
 * within 10 s.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { catalogKeys } from '@profiles/shared';
import { getJson, sourceYaml, startStack, waitFor, type Stack } from './harness/index.ts';

const SOURCES = 30;
const CONSISTENT_WITHIN_MS = 10_000;

describe('a wiped Redis is repaired', () => {
  let stack: Stack;
  let dir: string;
  let api: string;
  const expected: string[] = [];
  const keys = catalogKeys('pf:');
  let indexer: { stop: () => Promise<void> };

  before(async () => {
    stack = await startStack();
    dir = await stack.tempDir('wipe-');
    for (let i = 0; i < SOURCES; i++) {
      await writeFile(join(dir, `s${i}.yaml`), sourceYaml(`s${i}`, ['v1.0.0', `v1.${i}.0`]));
      expected.push(`s${i}/app@1.0.0`);
      if (i > 0) expected.push(`s${i}/app@1.${i}.0`);
    }
    expected.sort();
    indexer = await stack.indexer();
    await stack.watcher(dir);
    api = (await stack.api()).url;
    await waitFor(consistent, { what: 'the first catalog' });
  });
  after(() => stack.stop());

  /** Both the plain reads (Redis) and the search (the API's mirror) show exactly the folder. */
  async function consistent(): Promise<boolean> {
    const r = await getJson(`${api}/v1/profiles`);
    if (r.status !== 200) throw new Error(`GET /v1/profiles: ${r.status} ${JSON.stringify(r.body)}`);
    const listed = r.body.items as { catalogSource: string; name: string; version: string }[];
    const plain = listed.map((i) => `${i.catalogSource}/${i.name}@${i.version}`).sort();
    if (JSON.stringify(plain) !== JSON.stringify(expected)) return false;
    const search = await getJson(`${api}/v1/search?limit=100`);
    return search.status === 200 && search.body.total === SOURCES;
  }
  const ready = async () => (await fetch(`${api}/readyz`)).status === 200;

  async function repairedWithin(what: string): Promise<number> {
    const t0 = Date.now();
    await waitFor(async () => (await consistent()) && (await ready()), {
      timeoutMs: CONSISTENT_WITHIN_MS,
      intervalMs: 50,
      what,
    });
    return Date.now() - t0;
  }

  test('FLUSHALL while everything runs: rebuilt within 10 s', async () => {
    await stack.client.flushall();
    const ms = await repairedWithin('catalog rebuilt after FLUSHALL');
    assert.ok(ms < CONSISTENT_WITHIN_MS, `consistent after ${ms} ms`);
  });

  test('Redis restarted without its data: rebuilt within 10 s', async () => {
    await stack.redis.stop();
    for (const f of await readdir(stack.redis.dataDir))
      await rm(join(stack.redis.dataDir, f), { recursive: true });
    await stack.redis.start();
    await repairedWithin('catalog rebuilt after a restart without data');
  });

  test('an older copy restored (generation lower, a source missing): rebuilt', async () => {
    const generation = Number(await stack.client.get(keys.generation()));
    assert.ok(generation > 5);
    // What a restore of an older backup looks like: the newest source absent, the counter back.
    const id = `default/s${SOURCES - 1}`;
    const profiles = await stack.client.smembers(keys.sourceProfiles(id));
    await stack.client
      .multi()
      .srem(keys.sources(), id)
      .del(keys.source(id), keys.sourceProfiles(id), ...profiles.map((p) => keys.profile(id, p)))
      .set(keys.generation(), '3')
      .exec();
    await repairedWithin('catalog rebuilt after a restore');
    assert.ok(Number(await stack.client.get(keys.generation())) > generation, 'generations never repeat');
  });

  test('wiped while no indexer runs: not ready until an indexer rebuilds it', async () => {
    await indexer.stop();
    await stack.client.flushall();
    const r = await getJson(`${api}/readyz`);
    assert.equal(r.status, 503, 'an empty catalog is not ready');
    assert.equal(r.body.checks.catalog, false);
    await new Promise((res) => setTimeout(res, 1_500));
    assert.equal((await fetch(`${api}/readyz`)).status, 503, 'still not ready without an indexer');
    // Two indexers start: one rebuilds, the other waits for it.
    indexer = await stack.indexer('indexer-2');
    await stack.indexer('indexer-3');
    await repairedWithin('catalog rebuilt by a new indexer');
  });

  test('a change made during the rebuild is kept', async () => {
    await stack.client.flushall();
    await writeFile(join(dir, 's0.yaml'), sourceYaml('s0', ['v2.0.0']));
    expected.splice(expected.indexOf('s0/app@1.0.0'), 1, 's0/app@2.0.0');
    expected.sort();
    await repairedWithin('catalog rebuilt with the new change');
  });
});
