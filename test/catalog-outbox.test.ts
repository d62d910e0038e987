/**
 * The catalog outbox on real servers (redis-server, nats-server -js): entries of one write's events and older
 * indexers' one-event elements are published oldest first and trimmed once JetStream stored them; an entry that
 * fails halfway stays (the events before it are trimmed) and is stored once when published again; a rebuild's
 * hold keeps this replica from draining until it ends, then one drain publishes everything.
 */
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogKeys, decodeEvent, EVENT_TYPES, makeEvent, STREAMS, SUBJECTS } from '@profiles/shared';
import type { JetStreamClient, JetStreamManager } from '@profiles/shared/runtime';
import { Outbox } from '../services/indexer/src/outbox.ts';
import { encodeOutboxEntry, type OutboxItem } from '../services/indexer/src/outbox-entry.ts';
import { startStack, testLogger, waitFor, type Stack } from './harness/index.ts';

let stack: Stack;
let js: JetStreamClient;
let jsm: JetStreamManager;
const ref = { namespace: 'ns', name: 'outbox' };

before(async () => {
  stack = await startStack();
  ({ js, jsm } = await stack.jetstream());
});
after(async () => stack?.stop());
beforeEach(async () => {
  await stack.client.flushdb();
  await jsm.streams.purge(STREAMS.catalog.name);
});

const keys = () => catalogKeys(stack.prefix);
const outbox = () =>
  new Outbox({ redis: stack.client, keys: keys(), js, log: testLogger('outbox'), owner: 'test' });

function added(version: string, subject = SUBJECTS.catalogProfile(ref, 'app')): OutboxItem {
  const data = { catalog: ref, profile: 'app', version, tag: `app/v${version}` };
  return { subject, event: makeEvent(EVENT_TYPES.versionAdded, 'test', data, subject) };
}

/** The versions of the events JetStream holds, in stream order. */
async function stored(): Promise<string[]> {
  const info = await jsm.streams.info(STREAMS.catalog.name);
  const out: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(STREAMS.catalog.name, { seq });
    const ev = decodeEvent(m!.data) as { data: { version: string } };
    out.push(ev.data.version);
  }
  return out;
}

test("older indexers' events first, then each write's entry, all in order; unreadable entries dropped", async () => {
  const k = keys();
  await stack.client.rpush(k.outbox(), JSON.stringify(added('0.1.0')), JSON.stringify(added('0.2.0')));
  const versions = Array.from({ length: 1_200 }, (_, i) => `1.${i}.0`); // more than one publish batch
  const big = versions.map((v) => added(v));
  await stack.client.rpush(
    k.outboxEntries(),
    encodeOutboxEntry(big),
    '{not an entry',
    encodeOutboxEntry([added('2.0.0')]),
  );
  const o = outbox();
  await o.drain();
  assert.deepEqual(await stored(), ['0.1.0', '0.2.0', ...versions, '2.0.0']);
  assert.equal(o.published, 1_203);
  assert.deepEqual([await stack.client.llen(k.outbox()), await stack.client.llen(k.outboxEntries())], [0, 0]);
  assert.equal(await stack.client.exists(k.outboxLock()), 0, 'the lease given back');
});

test('an entry that fails halfway stays, the entries before it go; published again, each event is stored once', async () => {
  const k = keys();
  const first = [added('1.0.0'), added('1.1.0')];
  // A subject no stream takes: JetStream refuses it (no responders), after the events before it were stored.
  const failing = [added('2.0.0'), { ...added('2.1.0'), subject: 'nowhere.at.all' }];
  const last = [added('3.0.0')];
  await stack.client.rpush(k.outboxEntries(), ...[first, failing, last].map(encodeOutboxEntry));
  const o = outbox();
  await assert.rejects(o.drain());
  assert.equal(await stack.client.llen(k.outboxEntries()), 2, 'the failing entry and the one after it stay');
  // The failing event fixed (as if its stream came back), the entry is published again: 2.0.0 is not stored twice.
  await stack.client.lset(k.outboxEntries(), 0, encodeOutboxEntry([failing[0]!, added('2.1.0')]));
  await o.drain();
  // Each once. Not all in order: 3.0.0 was in flight beside the failing publish and JetStream kept it, as any
  // pipelined publisher's events after a failure (the first test has the order when nothing fails).
  assert.deepEqual((await stored()).sort(), ['1.0.0', '1.1.0', '2.0.0', '2.1.0', '3.0.0']);
  assert.equal(await stack.client.llen(k.outboxEntries()), 0);
});

test("held during a rebuild, this replica does not drain (kicks and its timer included); the hold's end drains", async () => {
  const k = keys();
  const o = outbox();
  o.start(100);
  try {
    await o.heldDuring(async () => {
      await stack.client.rpush(k.outboxEntries(), encodeOutboxEntry([added('1.0.0'), added('1.1.0')]));
      o.kick();
      await new Promise((r) => setTimeout(r, 600)); // six timer ticks
      assert.equal(await stack.client.llen(k.outboxEntries()), 1, 'nothing drained while held');
      assert.deepEqual(await stored(), []);
    });
    await waitFor(async () => ((await stack.client.llen(k.outboxEntries())) === 0 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the drain after the hold',
    });
    assert.deepEqual(await stored(), ['1.0.0', '1.1.0']);
  } finally {
    await o.stop();
  }
});
