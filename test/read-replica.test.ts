/**
 * The API pointed at a real read-only Redis replica (REDIS_READ_URL) while the indexer writes to the primary:
 * answers come from the replica, changes reach the in-memory search mirror through the replication stream,
 * and everything the API writes (search results, rate-limit counters) goes to the primary.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectRedis, silentLogger, type Redis } from '@profiles/shared/runtime';
import { getJson, startRedis, startStack, waitFor, type LocalServer, type Stack } from './harness/index.ts';
import { catalogYaml, generateCatalog } from './fixtures/catalog-generator.ts';

describe('API on a read replica', () => {
  let stack: Stack;
  let replica: LocalServer;
  let replicaClient: Redis;
  let dir: string;
  let api: string;
  const profiles = generateCatalog(40);

  before(async () => {
    stack = await startStack();
    replica = await startRedis({ replicaOf: stack.redis.port });
    replicaClient = connectRedis(replica.url, silentLogger(), 'test-replica');
    await waitFor(async () => (await replicaClient.info('replication')).includes('master_link_status:up'), {
      what: 'replica linked to the primary',
      timeoutMs: 20_000,
    });
    dir = await stack.tempDir('catalog-');
    await writeFile(join(dir, 'first.yaml'), catalogYaml('first', profiles.slice(0, 30)));
    await stack.indexer();
    await stack.watcher(dir);
    api = (await stack.api({ readUrl: replica.url })).url;
  });
  after(async () => {
    await stack.stop();
    replicaClient.disconnect();
    await replica.destroy();
  });

  test('the replica is read-only: the setup is a real replica', async () => {
    await assert.rejects(replicaClient.set('x', '1'), /READONLY/);
  });

  test('the mirror follows the primary through the replica; ETags move with it', async () => {
    // Each poll asks a new URL: a page computed by Redis before the mirror was in step stays cached for its
    // generation.
    let poll = 0;
    const found = await waitFor(
      async () => {
        const r = await getJson(`${api}/v1/search?q=&limit=${1 + (poll++ % 100)}`);
        return r.body.total === 30 && r.headers.get('x-search-engine') === 'memory' ? r : undefined;
      },
      { what: 'catalog searchable from the replica', timeoutMs: 20_000 },
    );
    const etag = found.headers.get('etag')!;
    await writeFile(join(dir, 'second.yaml'), catalogYaml('second', profiles.slice(30)));
    // While the mirror reloads the source, answers come from Redis; then from the mirror again.
    const after = await waitFor(
      async () => {
        const r = await getJson(`${api}/v1/search?q=&limit=${1 + (poll++ % 100)}`);
        return r.body.total === 40 && r.headers.get('x-search-engine') === 'memory' ? r : undefined;
      },
      { what: 'second catalog in the mirror, through the replica' },
    );
    assert.notEqual(after.headers.get('etag'), etag, 'a new generation, a new ETag');
    // The original endpoints read the replica too.
    const name = profiles[35]!.name;
    const items = (await getJson(`${api}/v1/profiles?name=${name}`)).body.items as { name: string }[];
    assert.ok(items.some((i) => i.name === name));
  });

  test('the Redis engine on the replica writes its results to the primary and agrees with the mirror', async () => {
    const redisOnly = await stack.api({ readUrl: replica.url, liveGeneration: false });
    try {
      const qs = `q=${encodeURIComponent(profiles[3]!.name)}&limit=50`;
      const [mirror, redis] = await Promise.all([
        getJson(`${api}/v1/search?${qs}`),
        getJson(`${redisOnly.url}/v1/search?${qs}`),
      ]);
      assert.equal(redis.status, 200, JSON.stringify(redis.body));
      assert.equal(redis.headers.get('x-search-engine'), 'redis');
      assert.deepEqual(redis.body, mirror.body);
      assert.ok(
        (await stack.client.keys(`${stack.prefix}idx:result:*`)).length > 0,
        'the scored result is on the primary',
      );
    } finally {
      await redisOnly.close();
    }
  });

  test('rate limits count on the primary (the replica would refuse the writes)', async () => {
    const limited = await stack.api({ readUrl: replica.url, rateLimitPerMinute: 3 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await fetch(`${limited.url}/v1/search?q=a${i}`)).status);
      assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
      assert.equal(statuses[4], 429);
      assert.ok((await stack.client.keys(`${stack.prefix}ratelimit:*`)).length > 0);
    } finally {
      await limited.close();
    }
  });
});
