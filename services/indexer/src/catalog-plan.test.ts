import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogKeys, EVENT_TYPES, SUBJECTS, type CatalogEntry, type SourceStatus } from '@profiles/shared';
import { planDelete, planUpsert, type StoredCatalog, type SourceUpdate } from './catalog-plan.ts';
import type { RedisCommand } from './redis-commands.ts';
import { decodeOutboxEntry } from './outbox-entry.ts';

const keys = catalogKeys('t:');
const ref = { namespace: 'ns', name: 'cat' };
const ctx = { keys, eventSource: 'test', now: Date.UTC(2026, 0, 1) };
const status: SourceStatus = {
  ready: true,
  reason: 'Indexed',
  message: 'ok',
  profiles: 1,
  versions: 2,
  entryErrors: [],
};

function entry(name: string, version: string, extra: Partial<CatalogEntry> = {}): CatalogEntry {
  return {
    tag: `${name}/v${version}`,
    catalogSource: ref.name,
    url: '',
    name,
    description: `${name} web server`,
    maintainer: 'someone',
    prerequisites: [],
    version,
    catalogNamespace: ref.namespace,
    origin: 'inline',
    indexedAt: '2026-01-01T00:00:00.000Z',
    ...extra,
  };
}

function update(entries: CatalogEntry[], extra: Partial<SourceUpdate> = {}): SourceUpdate {
  return { ref, seq: 7, origin: 'folder', specHash: 'h', entries, status, ...extra };
}

const empty: StoredCatalog = { source: {}, live: false, profileNames: [], profiles: new Map() };

/** The stored state after `entries` were indexed (versions as stored, the keys indexProfile recorded). */
function storedWith(entries: CatalogEntry[]): StoredCatalog {
  const plan = planUpsert(empty, update(entries), ctx);
  const profiles = new Map<string, { versions: Record<string, string>; searchKeys: string[] }>();
  for (const [cmd, key, ...args] of plan.commands) {
    const m = /^t:profile:ns\/cat\|(.+)$/.exec(String(key));
    if (cmd === 'hset' && m) {
      const versions: Record<string, string> = {};
      for (let i = 0; i < args.length; i += 2) versions[String(args[i])] = String(args[i + 1]);
      profiles.set(m[1]!, { versions, searchKeys: [] });
    }
    const k = /^t:idx:member-keys:(\S+) ns\/cat$/.exec(String(key));
    if (cmd === 'sadd' && k) profiles.get(k[1]!)!.searchKeys = args.map(String);
  }
  return {
    source: { status: JSON.stringify(status), uid: '', repos: '[]' },
    live: true,
    profileNames: [...profiles.keys()],
    profiles,
  };
}

const types = (plan: { events: { event: { type: string } }[] }) => plan.events.map((e) => e.event.type);
const on = (commands: RedisCommand[], key: string) => commands.filter((c) => c[1] === key);

test('a new source: its versions, newest first, an event per version, the source event and a generation bump', () => {
  const plan = planUpsert(empty, update([entry('nginx', '1.0.0'), entry('nginx', '1.2.0')]), ctx);
  assert.equal(plan.changed, true);
  assert.deepEqual(types(plan), [
    EVENT_TYPES.versionAdded,
    EVENT_TYPES.versionAdded,
    EVENT_TYPES.sourceIndexed,
  ]);
  assert.deepEqual(on(plan.commands, keys.profileOrder(ref, 'nginx')), [
    ['set', keys.profileOrder(ref, 'nginx'), '["1.2.0","1.0.0"]'],
  ]);
  assert.ok(plan.commands.some((c) => c[0] === 'sadd' && c[1] === keys.sources() && c[2] === 'ns/cat'));
  assert.ok(plan.commands.some((c) => c[0] === 'zadd' && c[1] === keys.searchTerm('nginx')));
  const eval_ = plan.commands.findIndex((c) => c[0] === 'eval');
  assert.ok(eval_ > 0, 'the generation is bumped');
  const after = plan.commands.slice(eval_ + 1);
  assert.deepEqual(
    after.map((c) => [c[0], c[1]]),
    [['rpush', keys.outboxEntries()]],
    'the events enter the outbox after the bump, as one entry',
  );
  assert.deepEqual(
    decodeOutboxEntry(String(after[0]![2])).map((i) => i.event.type),
    types(plan),
    'the entry holds every event, in order',
  );
});

test('the same entries again (only indexedAt differs) change nothing but the sequence', () => {
  const entries = [entry('nginx', '1.0.0'), entry('nginx', '1.2.0')];
  const later = entries.map((e) => ({ ...e, indexedAt: '2026-02-02T00:00:00.000Z' }));
  const plan = planUpsert(storedWith(entries), update(later, { seq: 9 }), ctx);
  assert.equal(plan.changed, false);
  assert.deepEqual(plan.events, []);
  assert.deepEqual(plan.commands, [
    ['hset', keys.source(ref), 'seq', '9', 'specHash', 'h'],
    ['persist', keys.source(ref)],
  ]);
});

test('a moved tag is a moved version; a version gone is removed; the entry kept keeps its indexedAt', () => {
  const before = [entry('nginx', '1.0.0'), entry('nginx', '1.2.0'), entry('nginx', '2.0.0')];
  const after = [
    entry('nginx', '1.0.0', { indexedAt: 'later' }),
    entry('nginx', '1.2.0', { revision: 'abc' }),
  ];
  const plan = planUpsert(storedWith(before), update(after), ctx);
  assert.deepEqual(types(plan), [
    EVENT_TYPES.versionMoved,
    EVENT_TYPES.versionRemoved,
    EVENT_TYPES.sourceIndexed,
  ]);
  const hset = on(plan.commands, keys.profile(ref, 'nginx')).find((c) => c[0] === 'hset')!;
  assert.equal(JSON.parse(String(hset[3])).indexedAt, before[0]!.indexedAt);
  assert.equal(JSON.parse(String(hset[5])).revision, 'abc');
});

test('a profile left out of the update leaves the catalog and every search key it was in', () => {
  const stored = storedWith([entry('nginx', '1.0.0'), entry('redis', '7.0.0')]);
  const plan = planUpsert(stored, update([entry('nginx', '1.0.0')]), ctx);
  assert.deepEqual(types(plan), [EVENT_TYPES.versionRemoved, EVENT_TYPES.sourceIndexed]);
  assert.equal(plan.events[0]!.subject, SUBJECTS.catalogProfile(ref, 'redis'));
  const member = 'redis ns/cat';
  assert.ok(plan.commands.some((c) => c[0] === 'del' && c[1] === keys.profile(ref, 'redis')));
  assert.ok(plan.commands.some((c) => c[0] === 'zrem' && c[1] === keys.profileNames() && c[2] === member));
  for (const k of stored.profiles.get('redis')!.searchKeys)
    assert.ok(
      plan.commands.some((c) => (c[0] === 'srem' || c[0] === 'zrem') && c[1] === k && c[2] === member),
      `out of ${k}`,
    );
  assert.deepEqual(on(plan.commands, keys.sourceProfiles(ref)), [
    ['del', keys.sourceProfiles(ref)],
    ['sadd', keys.sourceProfiles(ref), 'nginx'],
  ]);
});

test('a delete removes each profile as an upsert without it does, and leaves a tombstone', () => {
  const stored = storedWith([entry('redis', '7.0.0')]);
  const del = planDelete(stored, { ref, seq: 12 }, ctx);
  const up = planUpsert(stored, update([]), ctx);
  const profileCommands = (cs: RedisCommand[]) =>
    cs.filter((c) => c[0] !== 'rpush' && String(c.slice(1)).includes('redis'));
  assert.deepEqual(profileCommands(del.commands), profileCommands(up.commands));
  assert.deepEqual(types(del), [EVENT_TYPES.versionRemoved, EVENT_TYPES.sourceRemoved]);
  assert.ok(
    del.commands.some(
      (c) => c[0] === 'hset' && c[1] === keys.source(ref) && c.includes('deleted') && c.includes('12'),
    ),
  );
  assert.ok(del.commands.some((c) => c[0] === 'expire' && c[1] === keys.source(ref)));
  const gone = planDelete({ ...empty, source: { uid: 'u1' } }, { ref, seq: 13 }, ctx);
  assert.equal(gone.changed, false, 'deleting a source that is not live changes no catalog');
  assert.deepEqual(types(gone), []);
  assert.ok(
    gone.commands.some((c) => c[0] === 'hset' && c.includes('u1')),
    'the tombstone keeps the uid',
  );
});

test('another incarnation of the name retires the stored uid', () => {
  const stored = { ...storedWith([entry('nginx', '1.0.0')]) };
  stored.source = { ...stored.source, uid: 'old', retiredUids: '["older"]' };
  const plan = planUpsert(stored, update([entry('nginx', '1.0.0')], { uid: 'new', generation: 1 }), ctx);
  assert.equal(plan.changed, true);
  const hset = plan.commands.find((c) => c[0] === 'hset' && c[1] === keys.source(ref) && c.includes('seq'))!;
  assert.equal(hset[hset.indexOf('retiredUids') + 1], '["older","old"]');
  assert.equal(hset[hset.indexOf('uid') + 1], 'new');
});

test('a profile changed again within the same millisecond still moves its last change', () => {
  const stored = storedWith([entry('nginx', '1.0.0')]);
  stored.profiles.get('nginx')!.updated = ctx.now; // what the first write at this clock left
  const plan = planUpsert(stored, update([entry('nginx', '1.0.0', { description: 'changed' })]), ctx);
  const score = plan.commands.find(([cmd, key]) => cmd === 'zadd' && key === keys.searchUpdated());
  assert.equal(score?.[2], ctx.now + 1, 'later than the last change, not equal to it');
});
