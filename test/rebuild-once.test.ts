/**
 * After a Redis loss the catalog repair replays the sources stream while a fresh durable consumer reads the
 * same events: the consumer acks the events the running rebuild announced (`catalog-rebuild-through`) without
 * applying them, so each source is planned once. These tests check that nothing is lost by it: the catalog is
 * whole, a change published during the rebuild is applied, and a rebuild stopped half way leaves the epoch
 * absent so the next indexer replays everything (the events the first consumer acked included).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogKeys, encodeEvent, EVENT_TYPES, makeEvent, STREAMS, SUBJECTS } from '@profiles/shared';
import { startStack, waitFor, type Stack } from './harness/index.ts';
import { catalogSourceObject } from './fixtures/catalog-generator.ts';

const SOURCES = 20;
const VERSIONS = 300;

describe('a rebuild and a fresh durable consumer plan each source once', () => {
  let stack: Stack;
  const keys = catalogKeys('pf:');

  async function publish(n: number, versions: number): Promise<void> {
    const { js } = await stack.jetstream();
    const ref = { namespace: 'bench', name: `catalog-${n}` };
    const object = catalogSourceObject(n, versions);
    const ev = makeEvent(EVENT_TYPES.sourceUpserted, 'test', { ref, origin: 'test', object });
    await js.publish(SUBJECTS.source(ref), encodeEvent(ev), { msgID: ev.id });
  }
  const indexed = async () => stack.client.scard(keys.sources());
  const versionsOf = async (n: number) =>
    (
      JSON.parse((await stack.client.hget(keys.source(`bench/catalog-${n}`), 'status')) ?? '{}') as {
        versions?: number;
      }
    ).versions;

  before(async () => {
    stack = await startStack();
    for (let n = 0; n < SOURCES; n++) await publish(n, VERSIONS);
  });
  after(() => stack.stop());

  test('the consumer leaves the replayed events to the rebuild; a change made meanwhile is applied', async () => {
    const ix = await stack.indexer('once-1');
    await waitFor(async () => (await indexed()) >= 2, { what: 'the rebuild under way' });
    // Published while the rebuild runs: a higher sequence than it announced, so the consumer applies it.
    await publish(0, 7);
    await waitFor(async () => (await indexed()) === SOURCES && (await versionsOf(0)) === 7, {
      timeoutMs: 60_000,
      what: 'the whole catalog with the change',
    });
    await waitFor(async () => (await stack.client.exists(keys.catalogEpoch())) === 1, { what: 'the epoch' });
    assert.ok(ix.leftToRebuild() > 0, 'the consumer left events to the rebuild');
    assert.equal(await stack.client.exists(keys.catalogRebuildThrough()), 0, 'removed with the lease');
    for (let n = 1; n < SOURCES; n++) assert.equal(await versionsOf(n), VERSIONS, `catalog-${n}`);
    await ix.stop();
  });

  test('a rebuild stopped half way writes no epoch; the next indexer replays what the consumer acked', async () => {
    await stack.client.flushall();
    const { jsm } = await stack.jetstream();
    await jsm.consumers.delete(STREAMS.sources.name, 'indexer');
    // One lane: at most two sources in flight when the stop comes, so the stop finds the replay half way.
    const first = await stack.indexer('once-2', { rebuildLanes: 1 });
    await waitFor(async () => (await indexed()) >= 1, { what: 'the rebuild under way' });
    await waitFor(async () => first.leftToRebuild() > 0, { what: 'events left to the rebuild' });
    await first.stop();
    const seen = await indexed();
    assert.ok(seen < SOURCES, `stopped half way (${seen} sources)`);
    assert.equal(await stack.client.exists(keys.catalogEpoch()), 0, 'no epoch for an unfinished rebuild');
    assert.equal(await stack.client.exists(keys.catalogRebuildThrough()), 0, 'released with the lease');
    // The durable consumer does not redeliver what `first` acked: only the next rebuild restores it.
    const next = await stack.indexer('once-3');
    await waitFor(async () => (await indexed()) === SOURCES, {
      timeoutMs: 60_000,
      what: 'the whole catalog',
    });
    await waitFor(async () => (await stack.client.exists(keys.catalogEpoch())) === 1, { what: 'the epoch' });
    assert.equal(await versionsOf(0), 7);
    for (let n = 1; n < SOURCES; n++) assert.equal(await versionsOf(n), VERSIONS, `catalog-${n}`);
    await next.stop();
  });

  test('a snapshot in the stream waits for every lane: what it no longer lists is gone, a later upsert is kept', async () => {
    const { js, jsm } = await stack.jetstream();
    // Large upserts of the sources the snapshot drops, just before it: still being written on their lanes
    // when the replay reaches the snapshot, which must wait for them (or they would outlive it).
    for (let n = 3; n < SOURCES; n += 2) await publish(n, 2000);
    const snapshot = makeEvent(EVENT_TYPES.sourcesSnapshot, 'test', {
      origin: 'test',
      refs: Array.from({ length: SOURCES / 2 }, (_, i) => ({ namespace: 'bench', name: `catalog-${2 * i}` })),
    });
    await js.publish(SUBJECTS.sourcesSnapshot('test'), encodeEvent(snapshot), { msgID: snapshot.id });
    await publish(1, 5); // after the snapshot: a new upsert of a source it did not list
    await stack.client.flushall();
    await jsm.consumers.delete(STREAMS.sources.name, 'indexer');
    const ix = await stack.indexer('once-4', { rebuildLanes: 4 });
    await waitFor(async () => (await stack.client.exists(keys.catalogEpoch())) === 1, {
      timeoutMs: 60_000,
      what: 'the rebuild',
    });
    const live = (await stack.client.smembers(keys.sources())).sort();
    const expected = [
      'bench/catalog-1',
      ...Array.from({ length: SOURCES / 2 }, (_, i) => `bench/catalog-${2 * i}`),
    ].sort();
    assert.deepEqual(live, expected);
    assert.equal(await versionsOf(1), 5);
    assert.equal(await versionsOf(0), 7);
    await ix.stop();
  });
});
