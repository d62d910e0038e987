import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEvent, encodeEvent, EVENT_TYPES, makeEvent } from './events.ts';
import { AppError } from './errors.ts';

test('events round-trip through bytes and keep their type', () => {
  const ev = makeEvent(EVENT_TYPES.sourceDeleted, 'watcher', {
    ref: { namespace: 'default', name: 'a' },
    origin: 'folder',
  });
  const back = decodeEvent(encodeEvent(ev));
  assert.deepEqual(back, ev);
  assert.equal(back.specversion, '1.0');
});

test('a malformed event is refused with the bad field named', () => {
  const bad = (v: unknown) => () =>
    decodeEvent(new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v)));
  assert.throws(bad('{not json'), (e: unknown) => e instanceof AppError && e.code === 'EVENT_INVALID');
  const ev = makeEvent(EVENT_TYPES.sourceDeleted, 'w', { ref: { namespace: 'd', name: 'a' }, origin: 'f' });
  assert.throws(bad({ ...ev, type: 'nope' }), /unknown event type/);
  assert.throws(bad({ ...ev, data: { ref: { namespace: 'd' }, origin: 'f' } }), /\/ref/);
  assert.throws(bad({ ...ev, specversion: '0.3' }), /specversion/);
});
