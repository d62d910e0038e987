import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStaleUpsert } from './catalog-writer.ts';

test('an upsert of an older generation, or of a deleted object, is stale; other objects are not', () => {
  const live = { uid: 'u1', generation: '3', deleted: '0' };
  assert.equal(isStaleUpsert(live, 'u1', 2), true, 'older generation of the same object');
  assert.equal(isStaleUpsert(live, 'u1', 3), false, 'same generation: idempotent');
  assert.equal(isStaleUpsert(live, 'u1', 4), false, 'newer generation');
  assert.equal(isStaleUpsert(live, 'u2', 1), false, 'another incarnation of the name');
  assert.equal(isStaleUpsert({ uid: 'u1', generation: null, deleted: '1' }, 'u1', 9), true, 'deleted object');
  assert.equal(isStaleUpsert({ uid: 'u1', generation: null, deleted: '1' }, 'u2', 1), false, 're-created');
  assert.equal(isStaleUpsert(live, undefined, undefined), false, 'folder mode orders by sequence only');
  assert.equal(isStaleUpsert({ uid: null, generation: null, deleted: null }, 'u1', 1), false, 'new source');
});

test('an upsert of a retired uid (an earlier incarnation of the name) is stale', () => {
  const recreated = { uid: 'u2', generation: '1', deleted: '0', retiredUids: '["u1"]' };
  assert.equal(isStaleUpsert(recreated, 'u1', 5), true);
  assert.equal(isStaleUpsert(recreated, 'u2', 1), false);
  assert.equal(
    isStaleUpsert({ ...recreated, retiredUids: 'not json' }, 'u1', 5),
    false,
    'unreadable: ignored',
  );
});
