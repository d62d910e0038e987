/**
 * Nothing is lost: services and servers stopped mid-work, duplicate, stale and malformed events.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  EVENT_TYPES,
  makeEvent,
  encodeEvent,
  SUBJECTS,
  catalogKeys,
  type CatalogEntry,
} from '@profiles/shared';
import { createLogger } from '@profiles/shared/runtime';
import { getJson, sourceYaml as source, startStack, waitFor, type Stack } from './harness/index.ts';
import { CatalogWriter } from '../services/indexer/src/catalog-writer.ts';
import { testLogger } from './harness/index.ts';

async function catalog(api: string): Promise<string[]> {
  const r = await getJson(`${api}/v1/profiles`);
  return (r.body.items as { catalogSource: string; name: string; version: string }[])
    .map((i) => `${i.catalogSource}/${i.name}@${i.version}`)
    .sort();
}

describe('faults', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.stop());

  test('indexer stopped while events are pending: restarted, the catalog equals the folder', async () => {
    const dir = await stack.tempDir();
    const ix = await stack.indexer();
    const w = await stack.watcher(dir);
    const api = (await stack.api()).url;
    await writeFile(join(dir, 's0.yaml'), source('s0', ['v1.0.0']));
    await waitFor(async () => (await catalog(api)).includes('s0/app@1.0.0'));
    await ix.stop();
    for (let i = 1; i <= 20; i++) await writeFile(join(dir, `s${i}.yaml`), source(`s${i}`, [`v1.${i}.0`]));
    await writeFile(join(dir, 's0.yaml'), source('s0', ['v2.0.0']));
    await rm(join(dir, 's1.yaml'));
    // The s1 upsert and delete may coalesce (the newer event for a subject replaces a pending one).
    await waitFor(() => w.publisher.published >= 21, { what: 'events published while the indexer is down' });
    await new Promise((r) => setTimeout(r, 300));
    await waitFor(() => w.publisher.backlog === 0, { what: 'publisher drained' });
    assert.ok(!(await catalog(api)).includes('s0/app@2.0.0'), 'nothing indexed while the indexer is down');
    await stack.indexer();
    const expected = [
      's0/app@2.0.0',
      ...Array.from({ length: 19 }, (_, i) => `s${i + 2}/app@1.${i + 2}.0`),
    ].sort();
    await waitFor(async () => JSON.stringify(await catalog(api)) === JSON.stringify(expected), {
      what: 'catalog equals folder',
    });
    await w.stop();
    for (let i = 0; i <= 20; i++) await rm(join(dir, `s${i}.yaml`), { force: true });
  });

  test('watcher down while a source file is deleted: its profiles are gone after restart (snapshot)', async () => {
    const dir = await stack.tempDir();
    await stack.indexer();
    const api = (await stack.api()).url;
    await writeFile(join(dir, 'keep.yaml'), source('keep', ['v1.0.0']));
    await writeFile(join(dir, 'gone.yaml'), source('gone', ['v1.0.0']));
    const w1 = await stack.watcher(dir);
    await waitFor(async () => (await catalog(api)).includes('gone/app@1.0.0'));
    await w1.stop();
    await rm(join(dir, 'gone.yaml'));
    await stack.watcher(dir);
    await waitFor(async () => !(await catalog(api)).includes('gone/app@1.0.0'), {
      what: 'gone removed by the snapshot',
    });
    assert.ok((await catalog(api)).includes('keep/app@1.0.0'));
  });

  test('a duplicate event is stored once and an identical republish writes nothing', async () => {
    const ix = await stack.indexer('dup-indexer');
    const { js } = await stack.jetstream();
    const ref = { namespace: 'default', name: 'dup' };
    const object = {
      apiVersion: 'weave.works/v1alpha1',
      kind: 'ProfileCatalogSource',
      metadata: { name: 'dup' },
      spec: { profiles: [{ name: 'x', tag: 'v1.0.0' }] },
    };
    const ev = makeEvent(EVENT_TYPES.sourceUpserted, 'test', { ref, origin: 'test', object });
    const a1 = await js.publish(SUBJECTS.source(ref), encodeEvent(ev), { msgID: ev.id });
    const a2 = await js.publish(SUBJECTS.source(ref), encodeEvent(ev), { msgID: ev.id });
    assert.equal(a2.duplicate, true, 'JetStream de-duplicates by event id');
    assert.equal(a1.seq, a2.seq);
    await waitFor(
      async () => (await stack.client.hget(`${stack.prefix}source:default/dup`, 'seq')) === String(a1.seq),
    );
    const writes = ix.writer.writes;
    const again = makeEvent(EVENT_TYPES.sourceUpserted, 'test', { ref, origin: 'test', object });
    const a3 = await js.publish(SUBJECTS.source(ref), encodeEvent(again), { msgID: again.id });
    await waitFor(
      async () => (await stack.client.hget(`${stack.prefix}source:default/dup`, 'seq')) === String(a3.seq),
    );
    assert.equal(ix.writer.writes, writes, 'the same content again changes nothing in the catalog');
  });

  test('a stale event never overwrites a newer state', async () => {
    const r = stack.client.duplicate();
    const writer = new CatalogWriter({ redis: r, keys: catalogKeys('stale:'), log: testLogger('w') });
    const ref = { namespace: 'default', name: 'stale' };
    const entry = (version: string): CatalogEntry => ({
      tag: `v${version}`,
      catalogSource: 'stale',
      url: '',
      name: 'p',
      description: '',
      maintainer: '',
      prerequisites: [],
      version,
      catalogNamespace: 'default',
      origin: 'inline',
      indexedAt: 'now',
    });
    const status = { ready: true, reason: 'Indexed', message: '', profiles: 1, versions: 1, entryErrors: [] };
    assert.equal(
      (await writer.upsert({ ref, seq: 10, origin: 't', specHash: 'b', entries: [entry('2.0.0')], status }))
        .applied,
      true,
    );
    const stale = await writer.upsert({
      ref,
      seq: 7,
      origin: 't',
      specHash: 'a',
      entries: [entry('1.0.0')],
      status,
    });
    assert.deepEqual(stale, { applied: false, reason: 'stale' });
    assert.deepEqual(await r.hkeys('stale:profile:default/stale|p'), ['2.0.0']);
    // A delete is a tombstone: a redelivered older upsert cannot resurrect the source.
    assert.equal((await writer.delete(ref, 12)).applied, true);
    assert.deepEqual(
      await writer.upsert({ ref, seq: 11, origin: 't', specHash: 'c', entries: [entry('3.0.0')], status }),
      { applied: false, reason: 'stale' },
    );
    assert.equal(await r.exists('stale:profile:default/stale|p'), 0);
    r.disconnect();
  });

  test('a malformed event is dropped and the events after it are applied', async () => {
    await stack.indexer('malformed-indexer');
    const { js } = await stack.jetstream();
    await js.publish(
      SUBJECTS.source({ namespace: 'default', name: 'junk' }),
      new TextEncoder().encode('{"not":"a cloudevent"'),
    );
    const ref = { namespace: 'default', name: 'after-junk' };
    const object = {
      apiVersion: 'weave.works/v1alpha1',
      kind: 'ProfileCatalogSource',
      metadata: { name: 'after-junk' },
      spec: { profiles: [{ name: 'y', tag: 'v1.0.0' }] },
    };
    await js.publish(
      SUBJECTS.source(ref),
      encodeEvent(makeEvent(EVENT_TYPES.sourceUpserted, 'test', { ref, origin: 'test', object })),
    );
    await waitFor(
      async () => (await stack.client.exists(`${stack.prefix}profile:default/after-junk|y`)) === 1,
      { what: 'event after the junk applied' },
    );
  });

  test('redis and nats restarted mid-run: changes made meanwhile are indexed', async () => {
    const dir = await stack.tempDir();
    await stack.indexer('restart-indexer');
    await stack.watcher(dir);
    const api = (await stack.api()).url;
    await writeFile(join(dir, 'r.yaml'), source('restarts', ['v1.0.0']));
    await waitFor(async () => (await catalog(api)).includes('restarts/app@1.0.0'));
    await stack.redis.stop();
    await writeFile(join(dir, 'r.yaml'), source('restarts', ['v1.1.0']));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await getJson(`${api}/v1/profiles`)).status, 503, 'the API says the store is unavailable');
    await stack.redis.start();
    await waitFor(async () => (await catalog(api)).includes('restarts/app@1.1.0'), {
      what: 'indexed after redis restart',
      timeoutMs: 30_000,
    });
    await stack.nats.stop();
    await writeFile(join(dir, 'r.yaml'), source('restarts', ['v1.2.0']));
    await new Promise((r) => setTimeout(r, 500));
    await stack.nats.start();
    await waitFor(async () => (await catalog(api)).includes('restarts/app@1.2.0'), {
      what: 'indexed after nats restart',
      timeoutMs: 30_000,
    });
  });

  test('a malformed YAML file is reported in one clear log line naming the file', async () => {
    const dir = await stack.tempDir();
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
    const log = createLogger('watcher', { level: 'info', destination: sink });
    await writeFile(join(dir, 'broken.yaml'), 'kind: [oops\n');
    const w = await stack.watcher(dir, { log });
    await waitFor(() => lines.some((l) => l.includes('broken.yaml')));
    const errors = lines.map((l) => JSON.parse(l)).filter((l) => l.level >= 50);
    assert.equal(errors.length, 1);
    assert.match(
      errors[0].msg,
      /^cannot read catalog source file broken\.yaml: .* at line \d+, column \d+; previous sources kept$/,
    );
    await w.stop();
  });
});
