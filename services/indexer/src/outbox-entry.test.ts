import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeEvent, EVENT_TYPES, makeEvent, SUBJECTS, type CloudEvent } from '@profiles/shared';
import { decodeOutboxEntry, encodeOutboxEntry, type OutboxItem } from './outbox-entry.ts';

const ref = { namespace: 'ns', name: 'cat' };
const subject = SUBJECTS.catalogProfile(ref, 'nginx');

function added(version: string, time = '2026-01-01T00:00:00.000Z'): OutboxItem {
  const event = makeEvent(
    EVENT_TYPES.versionAdded,
    'indexer',
    { catalog: ref, profile: 'nginx', version, tag: `nginx/v${version}` },
    subject,
  );
  event.time = time;
  return { subject, event };
}

/** What JetStream receives for each item: its subject and the event's bytes. */
const wire = (items: OutboxItem[]) =>
  items.map((i) => [i.subject, Buffer.from(encodeEvent(i.event)).toString()]);

test('an entry gives back every event of the write, byte for byte, in order, in far fewer bytes', () => {
  const items = Array.from({ length: 200 }, (_, i) => added(`1.${i}.0`));
  const raw = encodeOutboxEntry(items);
  assert.deepEqual(wire(decodeOutboxEntry(raw)), wire(items));
  const oneEach = items.reduce((n, i) => n + JSON.stringify(i).length, 0);
  assert.ok(raw.length < oneEach * 0.7, `${raw.length} bytes against ${oneEach} one event per element`);
});

test('an event whose envelope differs from the first (another time, a trace, another subject) is kept whole', () => {
  const traced: OutboxItem = added('2.0.0');
  traced.event.traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const other = added('3.0.0', '2026-02-02T00:00:00.000Z');
  const elsewhere = { ...added('4.0.0'), subject: 'profiles.catalog.source.ns.cat' };
  const items = [added('1.0.0'), traced, other, elsewhere, added('5.0.0')];
  const decoded = decodeOutboxEntry(encodeOutboxEntry(items));
  assert.deepEqual(wire(decoded), wire(items));
  assert.deepEqual(decoded, items);
});

test("an older indexer's entry (one event per element) decodes; an unreadable one is refused, naming why", () => {
  const item = added('1.0.0');
  assert.deepEqual(decodeOutboxEntry(JSON.stringify(item)), [item]);
  assert.throws(() => decodeOutboxEntry('{nope'), { code: 'EVENT_INVALID', message: /not JSON/ });
  assert.throws(() => decodeOutboxEntry('[1,2]'), { code: 'EVENT_INVALID', message: /neither/ });
  assert.throws(() => decodeOutboxEntry('{"envelope":{},"events":[[1]]}'), {
    code: 'EVENT_INVALID',
    message: /malformed event/,
  });
});

test('any events (property): decoding an entry gives the same subjects and bytes as the events themselves', () => {
  const text = fc.string({ unit: 'binary', maxLength: 12 });
  const event = fc.record({
    version: fc.oneof(fc.constant('1.0.0'), text),
    time: fc.constantFrom('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.001Z'),
    subject: fc.constantFrom(subject, 'profiles.catalog.source.ns.cat'),
    traceparent: fc.option(fc.constant('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'), {
      nil: undefined,
    }),
    tag: text,
  });
  fc.assert(
    fc.property(fc.array(event, { minLength: 1, maxLength: 8 }), (specs) => {
      const items = specs.map((s): OutboxItem => {
        const ev: CloudEvent = makeEvent(
          EVENT_TYPES.versionAdded,
          'indexer',
          { catalog: ref, profile: 'p', version: s.version, tag: s.tag },
          s.subject,
        );
        ev.time = s.time;
        if (s.traceparent) ev.traceparent = s.traceparent;
        return { subject: s.subject, event: ev };
      });
      assert.deepEqual(wire(decodeOutboxEntry(encodeOutboxEntry(items))), wire(items));
    }),
    { numRuns: 200 },
  );
});
