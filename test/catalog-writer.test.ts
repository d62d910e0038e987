import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { catalogKeys, type CatalogEntry, type RepoTagState } from '@profiles/shared';
import { connectRedis, silentLogger, type Redis } from '@profiles/shared/runtime';
import { CatalogWriter, type SourceUpdate } from '../services/indexer/src/catalog-writer.ts';
import { decodeOutboxEntry } from '../services/indexer/src/outbox-entry.ts';
import { startRedis, type LocalServer } from './harness/index.ts';
import { dumpKeys, type KeyContent } from './harness/redis-dump.ts';
import { generateCatalog } from './fixtures/catalog-generator.ts';

/**
 * The batched writer (each plan coalesced into few variadic commands) against the unbatched one (every planned
 * command sent as planned), on a real redis-server: the same sequence of changes gives the same catalog, key
 * by key, in every key family (catalog, search indexes, repositories, poll schedule, tombstones, outbox).
 */
let server: LocalServer;
let plain: Redis;
let batchedDb: Redis;

before(async () => {
  server = await startRedis();
  plain = connectRedis(`${server.url}/0`, silentLogger(), 'unbatched', { autoPipelining: false });
  batchedDb = connectRedis(`${server.url}/1`, silentLogger(), 'batched', { autoPipelining: false });
});

after(async () => {
  plain.disconnect();
  batchedDb.disconnect();
  await server.destroy();
});

/** A small seeded generator, so a failure names a sequence that can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const projects = generateCatalog(16);

function entries(ref: { namespace: string; name: string }, rnd: () => number): CatalogEntry[] {
  const out: CatalogEntry[] = [];
  for (const p of projects) {
    if (rnd() < 0.6) continue;
    for (const v of p.versions) {
      if (rnd() < 0.3) continue;
      out.push({
        tag: `${p.name}/v${v}`,
        catalogSource: ref.name,
        url: '',
        name: p.name,
        description: rnd() < 0.1 ? `${p.description}, edited` : p.description,
        maintainer: p.maintainer,
        prerequisites: p.prerequisites,
        version: v,
        catalogNamespace: ref.namespace,
        origin: 'inline',
        indexedAt: `2026-01-01T00:00:0${Math.floor(rnd() * 3)}.000Z`,
        ...(rnd() < 0.2 ? { revision: `r${Math.floor(rnd() * 3)}` } : {}),
      });
    }
  }
  return out;
}

type Step = { kind: 'upsert'; u: SourceUpdate } | { kind: 'delete'; ref: SourceUpdate['ref']; seq: number };

function sequence(seed: number, length: number): Step[] {
  const rnd = prng(seed);
  const refs = [0, 1, 2].map((i) => ({ namespace: 'ns', name: `cat-${i}` }));
  const steps: Step[] = [];
  for (let seq = 1; seq <= length; seq++) {
    const ref = refs[Math.floor(rnd() * refs.length)]!;
    if (rnd() < 0.15) {
      steps.push({ kind: 'delete', ref, seq });
      continue;
    }
    const list = entries(ref, rnd);
    const url = `https://git.example/${ref.name}-${Math.floor(rnd() * 2)}.git`;
    const tags = new Map<string, RepoTagState>(
      list.slice(0, 3).map((e) => [e.tag, { commit: `c${seq}`, entry: e }]),
    );
    steps.push({
      kind: 'upsert',
      u: {
        ref,
        seq,
        origin: 'test',
        uid: rnd() < 0.2 ? `uid-${seq}` : undefined,
        specHash: `h${seq}`,
        entries: rnd() < 0.1 ? undefined : list,
        status: {
          ready: true,
          reason: 'Indexed',
          message: `${list.length}`,
          profiles: 0,
          versions: list.length,
          entryErrors: [],
        },
        object: JSON.stringify({ seq }),
        ...(rnd() < 0.5
          ? { repos: [{ url, tags, changed: rnd() < 0.7 }], pollAt: 1_000 + seq, pollSeconds: 60 }
          : {}),
      },
    });
  }
  return steps;
}

async function run(redis: Redis, batched: boolean, steps: Step[]): Promise<void> {
  let clock = Date.UTC(2026, 0, 1);
  const writer = new CatalogWriter({
    redis,
    keys: catalogKeys('pf:'),
    log: silentLogger(),
    batched,
    now: () => (clock += 1000),
  });
  for (const s of steps) {
    if (s.kind === 'upsert') await writer.upsert(s.u);
    else await writer.delete(s.ref, s.seq);
  }
}

/** The outbox's events differ only in their random ids. */
function comparable(dump: Map<string, KeyContent>): Map<string, KeyContent> {
  const outbox = dump.get('pf:outbox-entries');
  if (outbox?.type === 'list')
    outbox.value = outbox.value.map((raw) =>
      JSON.stringify(
        decodeOutboxEntry(raw).map(({ subject, event }) => ({ subject, event: { ...event, id: '' } })),
      ),
    );
  return dump;
}

for (const seed of [1, 2, 3, 4]) {
  test(`batched and unbatched writers leave the same catalog, key by key (sequence ${seed})`, async () => {
    await plain.flushdb();
    await batchedDb.flushdb();
    const steps = sequence(seed, 12);
    await run(plain, false, steps);
    await run(batchedDb, true, steps);
    const a = comparable(await dumpKeys(plain, '*'));
    const b = comparable(await dumpKeys(batchedDb, '*'));
    assert.ok(a.size > 20, `the sequence wrote a catalog (${a.size} keys)`);
    assert.deepEqual([...b.keys()], [...a.keys()], 'the same keys');
    for (const [k, v] of a) assert.deepEqual(b.get(k), v, `key ${k}`);
    for (const k of ['pf:sources', 'pf:idx:terms', 'pf:outbox-entries', 'pf:poll-schedule'])
      assert.ok(a.has(k) || !steps.some((s) => s.kind === 'upsert'), `${k} was written`);
  });
}

test('a write that another connection races between its read and EXEC is planned again and lands whole', async () => {
  await plain.flushdb();
  await batchedDb.flushdb();
  const keys = catalogKeys('pf:');
  const step = sequence(5, 3).find((s) => s.kind === 'upsert' && s.u.entries && s.u.entries.length > 0)!;
  assert.ok(step.kind === 'upsert');
  const at = Date.UTC(2026, 0, 1);
  // The reference: the same update, nobody else writing.
  await new CatalogWriter({ redis: plain, keys, log: silentLogger(), now: () => at }).upsert(step.u);
  // The raced one: its first plan (after its read, before its EXEC) has another client touch the source key,
  // synchronously, so WATCH must abort that EXEC.
  let planned = 0;
  const raced = new CatalogWriter({
    redis: batchedDb,
    keys,
    log: silentLogger(),
    now: () => {
      if (planned++ === 0)
        execFileSync('redis-cli', ['-u', `${server.url}/1`, 'HSET', keys.source(step.u.ref), 'raced', '1']);
      return at;
    },
  });
  const watches = async () =>
    Number(/cmdstat_watch:calls=(\d+)/.exec(await batchedDb.info('commandstats'))?.[1] ?? 0);
  const before = await watches();
  const outcome = await raced.upsert(step.u);
  assert.equal(outcome.applied, true);
  assert.equal(planned, 2, 'planned again after the aborted EXEC');
  assert.equal((await watches()) - before, 2, 'read again under a new WATCH');
  assert.equal(raced.writes, 1, 'one transaction landed');
  await batchedDb.hdel(keys.source(step.u.ref), 'raced');
  const a = comparable(await dumpKeys(plain, '*'));
  const b = comparable(await dumpKeys(batchedDb, '*'));
  assert.deepEqual([...b.keys()], [...a.keys()], 'the same keys');
  for (const [k, v] of a) assert.deepEqual(b.get(k), v, `key ${k}`);
});

test('a stale write leaves no WATCH behind: the next write on the connection is not aborted by it', async () => {
  await batchedDb.flushdb();
  const keys = catalogKeys('pf:');
  const writer = new CatalogWriter({ redis: batchedDb, keys, log: silentLogger() });
  const first = sequence(9, 6).find((s) => s.kind === 'upsert');
  assert.ok(first?.kind === 'upsert');
  await writer.upsert({ ...first.u, seq: 10 });
  assert.deepEqual(await writer.upsert({ ...first.u, seq: 9 }), { applied: false, reason: 'stale' });
  // A WATCH left on the source would abort this unrelated transaction once the key changes.
  await batchedDb.hset(keys.source(first.u.ref), 'x', '1');
  assert.deepEqual(await batchedDb.multi().set('after-stale', '1').exec(), [[null, 'OK']]);
});
