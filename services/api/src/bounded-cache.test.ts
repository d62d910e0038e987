import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedCache } from './bounded-cache.ts';

const cache = (maxEntries: number, maxWeight: number) =>
  new BoundedCache<string>({ maxEntries, maxWeight, weigh: (v) => v.length });

test('evicts the oldest unused entries to stay within count and weight; a used one gets a second chance', () => {
  const c = cache(3, 10);
  c.set('a', 'xxx');
  c.set('b', 'xxx');
  c.set('c', 'xxx');
  assert.equal(c.get('a'), 'xxx'); // a is used: kept over older unused entries
  c.set('d', 'x'); // four entries: a moves to the young end, b (oldest unused) goes
  assert.equal(c.get('b'), undefined);
  assert.deepEqual([c.size, c.weight], [3, 7]);
  c.set('e', 'xxxxxxx'); // weight 14 > 10: c, then d go (never used); a is younger now
  assert.deepEqual([c.size, c.weight], [2, 10]);
  assert.equal(c.get('c'), undefined);
  assert.equal(c.get('d'), undefined);
  assert.equal(c.get('e'), 'xxxxxxx');
  c.set('f', 'x'); // 11 > 10: a is oldest and unused since its second chance: it goes
  assert.equal(c.get('a'), undefined);
  assert.deepEqual([c.size, c.weight], [2, 8]);
});

test('when every entry was used, eviction still ends and keeps the bounds', () => {
  const c = cache(3, 100);
  for (const k of ['a', 'b', 'c']) c.set(k, k);
  for (const k of ['a', 'b', 'c']) c.get(k);
  c.set('d', 'd'); // all marked: one pass unmarks a, b, c; then a, the oldest, goes
  assert.deepEqual([c.size, c.get('a'), c.get('b'), c.get('d')], [3, undefined, 'b', 'd']);
});

test('replacing an entry replaces its weight; one heavier than the budget is not kept', () => {
  const c = cache(10, 10);
  c.set('a', 'xxxx');
  c.set('a', 'xx');
  assert.equal(c.weight, 2);
  c.set('huge', 'x'.repeat(11));
  assert.equal(c.get('huge'), undefined);
  assert.equal(c.get('a'), 'xx');
});

test('an entry that grows in place counts, and the budget still holds', () => {
  const c = cache(10, 10);
  c.set('a', 'xxx');
  c.set('b', 'xxx');
  c.grow('a', 5); // a: 8, b: 3 -> 11 > 10: b, the least recent, goes
  assert.equal(c.get('b'), undefined);
  assert.deepEqual([c.size, c.weight], [1, 8]);
  c.grow('a', 5); // heavier than the whole budget: dropped
  assert.deepEqual([c.size, c.weight], [0, 0]);
});

test('every value let go of is reported once: evicted, replaced, too heavy, grown past the budget, deleted, cleared', () => {
  const gone: string[] = [];
  const c = new BoundedCache<string>({
    maxEntries: 2,
    maxWeight: 6,
    weigh: (v) => v.length,
    dropped: (v) => gone.push(v),
  });
  c.set('a', 'a1');
  c.set('b', 'b1');
  c.set('c', 'c1'); // a evicted
  c.set('b', 'b2'); // b1 replaced
  const same = 'c1';
  c.set('c', same); // the same value again: kept, not dropped
  c.set('d', 'd-too-heavy'); // never kept
  c.grow('b', 10); // b2 grows past the budget
  c.delete('c');
  c.set('e', 'e1');
  c.clear();
  assert.deepEqual(gone, ['a1', 'b1', 'd-too-heavy', 'b2', 'c1', 'e1']);
  assert.deepEqual([c.size, c.weight], [0, 0]);
});
