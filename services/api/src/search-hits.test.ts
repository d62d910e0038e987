import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HitPool, Hits } from './search-hits.ts';

test('hits push, grow, take out and find as a list of pairs would', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.record({ push: fc.nat(5000) }), fc.record({ remove: fc.nat(1000) })), {
        maxLength: 700,
      }),
      (steps) => {
        const hits = new Hits(new HitPool());
        const plain: [number, number][] = [];
        for (const step of steps) {
          if ('push' in step) {
            hits.push(step.push, step.push / 7);
            plain.push([step.push, step.push / 7]);
          } else if (plain.length > 0) {
            const at = step.remove % plain.length;
            hits.removeAt(at);
            plain[at] = plain.at(-1)!;
            plain.pop();
          }
        }
        assert.equal(hits.length, plain.length);
        assert.deepEqual(
          [...hits.idView()],
          plain.map(([id]) => id),
        );
        assert.deepEqual(
          [...hits.scoreView()],
          plain.map(([, s]) => s),
        );
        for (const [id] of plain.slice(0, 5)) assert.equal(hits.ids[hits.indexOf(id)], id);
        assert.equal(hits.indexOf(-1), -1);
      },
    ),
  );
});

test('the pool lends given-back arrays again, by capacity, and keeps no more than its bound', () => {
  const pool = new HitPool(256 * 12 * 2); // room for two of the smallest
  const a = new Hits(pool, 10);
  const arrays = a.ids;
  assert.equal(arrays.length, 256);
  a.release();
  assert.equal(a.length, 0);
  assert.equal(a.ids.length, 0, 'released hits hold no arrays');
  assert.equal(pool.bytes, 256 * 12);
  const b = new Hits(pool, 200);
  assert.equal(b.ids, arrays, 'the same arrays, lent again');
  assert.equal(pool.bytes, 0);
  const big = new Hits(pool, 300);
  assert.equal(big.ids.length, 512);
  assert.notEqual(big.ids, arrays);
  for (let i = 0; i < 600; i++) big.push(i, i);
  assert.equal(big.ids.length, 1024, 'grown to the next capacity');
  assert.equal(pool.bytes, 512 * 12, 'the outgrown arrays kept: they fill the bound');
  new Hits(pool).release();
  assert.equal(pool.bytes, 512 * 12, 'one more past the bound is left to the garbage collector');
  assert.equal(new Hits(pool, 400).ids.length, 512, 'the kept ones lent by capacity');
  assert.equal(pool.bytes, 0);
});
