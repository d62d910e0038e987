/**
 * The scaled-out setup the benches run with BENCH_NATS=cluster BENCH_REDIS=replica (bench/lib/infra.ts):
 * three nats-server nodes with every stream R3, and a Redis primary with a read replica the API reads from.
 * The watcher, indexer and API work end to end on it: streams are replicated on all three nodes, the catalog
 * is searchable through the replica, and a change reaches it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STREAMS } from '@profiles/shared';
import { connectRedis, silentLogger, type Redis } from '@profiles/shared/runtime';
import { getJson, startStack, waitFor, type Stack } from './harness/index.ts';
import { catalogYaml, generateCatalog } from './fixtures/catalog-generator.ts';
import { startBenchInfra, type BenchInfra } from '../bench/lib/infra.ts';

describe('scale-out: 3-node NATS cluster (R3) and a Redis read replica', () => {
  let infra: BenchInfra;
  let stack: Stack;
  let replicaClient: Redis;
  let dir: string;
  let api: string;
  const profiles = generateCatalog(40);

  before(async () => {
    infra = await startBenchInfra({ nats: 'cluster', redis: 'replica' });
    stack = await startStack({ servers: infra });
    replicaClient = connectRedis(infra.redisReadUrl!, silentLogger(), 'test-replica');
    dir = await stack.tempDir('catalog-');
    await writeFile(join(dir, 'first.yaml'), catalogYaml('first', profiles.slice(0, 30)));
    await stack.indexer();
    await stack.watcher(dir);
    api = (await stack.api()).url;
  });
  after(async () => {
    replicaClient?.disconnect();
    await stack?.stop();
  });

  test('every stream has three copies, a leader and two current followers', async () => {
    const { jsm } = await stack.jetstream();
    for (const { name } of Object.values(STREAMS)) {
      const info = await jsm.streams.info(name);
      assert.equal(info.config.num_replicas, 3, name);
      assert.ok(info.cluster?.leader, `${name} has a leader`);
      assert.equal(info.cluster?.replicas?.length, 2, `${name} followers`);
      // A follower may be a message behind at the moment of asking while the services write (CI saw lag 1);
      // replication working means both catch up, so that is awaited, not sampled once.
      await waitFor(async () => (await jsm.streams.info(name)).cluster?.replicas?.every((r) => r.current), {
        what: `${name} followers current`,
        timeoutMs: 15_000,
        intervalMs: 100,
      });
    }
  });

  test('the catalog indexed through the cluster is searchable from the replica, and a change reaches it', async () => {
    await assert.rejects(replicaClient.set('x', '1'), /READONLY/, 'the API reads a real replica');
    let poll = 0;
    const search = () => getJson(`${api}/v1/search?q=&limit=${1 + (poll++ % 100)}`);
    await waitFor(async () => (await search()).body.total === 30, {
      what: 'first source searchable through the replica',
      timeoutMs: 30_000,
    });
    await writeFile(join(dir, 'second.yaml'), catalogYaml('second', profiles.slice(30)));
    const after = await waitFor(
      async () => {
        const r = await search();
        return r.body.total === 40 ? r : undefined;
      },
      { what: 'second source searchable through the replica', timeoutMs: 30_000 },
    );
    assert.equal(after.status, 200);
    // The indexer wrote to the primary; the replica holds the same catalog.
    const key = (await stack.client.keys(`${stack.prefix}*`)).find((k) => !k.includes('idx:result'));
    assert.ok(key, 'the indexer wrote to the primary');
    assert.equal(await replicaClient.exists(key), 1, `${key} replicated`);
  });
});
