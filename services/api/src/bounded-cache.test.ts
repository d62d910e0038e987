import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedCache } from './bounded-cache.ts';

const cache = (maxEntries: number, maxWeight: number) =>
  new BoundedCache<string>({ maxEntries, maxWeight, weigh: (v) => v.length });

test('evicts the least recently used entries to stay within count and weight', () => {
  const c = cache(3, 10);
  c.set('a', 'xxx');
  c.set('b', 'xxx');
  c.set('c', 'xxx');
  assert.equal(c.get('a'), 'xxx'); // a is now the most recent
  c.set('d', 'x'); // four entries: b (least recent) goes
  assert.equal(c.get('b'), undefined);
  assert.deepEqual([c.size, c.weight], [3, 7]);
  c.set('e', 'xxxxxxx'); // weight 14 > 10: c, then a go
  assert.equal(c.get('c'), undefined);
  assert.equal(c.get('a'), undefined);
  assert.deepEqual([c.size, c.weight], [2, 8]);
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
