import { test } from 'node:test';
import assert from 'node:assert/strict';
import { APPLY_SCRIPT, coalesce, scripted, type RedisCommand } from './redis-commands.ts';

test('variadic commands on one key join while nothing else touched the key; the order per key is kept', () => {
  const planned: RedisCommand[] = [
    ['sadd', 'a', 'x'],
    ['zadd', 'z', 1, 'm'],
    ['sadd', 'a', 'y'],
    ['srem', 'a', 'x'],
    ['sadd', 'a', 'x'],
    ['del', 'b', 'z'],
    ['zadd', 'z', 2, 'n'],
    ['sadd', 'a', 'w'],
    ['eval', 'script', 1, 'g', 'arg'],
    ['rpush', 'g', 'e1'],
  ];
  assert.deepEqual(coalesce(planned), [
    ['sadd', 'a', 'x', 'y'],
    ['zadd', 'z', 1, 'm'],
    ['srem', 'a', 'x'],
    ['sadd', 'a', 'x', 'w'],
    ['del', 'b', 'z'],
    ['zadd', 'z', 2, 'n'],
    ['eval', 'script', 1, 'g', 'arg'],
    ['rpush', 'g', 'e1'],
  ]);
  assert.deepEqual(planned[0], ['sadd', 'a', 'x'], 'the plan itself is left as it was');
});

test('scripted: runs of commands become calls of the apply script, in order; scripts pass as they are', () => {
  const planned: RedisCommand[] = [
    ['sadd', 'a', 'x', 'y'],
    ['del', 'b', 'c'],
    ['eval', 'script', 1, 'g', 'arg'],
    ['zadd', 'z', 1, 'm'],
  ];
  assert.deepEqual(scripted(planned), [
    ['eval', APPLY_SCRIPT, 3, 'a', 'b', 'c', 'sadd', 1, 2, 'x', 'y', 'del', 2, 0],
    ['eval', 'script', 1, 'g', 'arg'],
    ['eval', APPLY_SCRIPT, 1, 'z', 'zadd', 1, 2, 1, 'm'],
  ]);
  const long: RedisCommand = ['rpush', 'o', ...Array.from({ length: 5000 }, (_, i) => `e${i}`)];
  assert.deepEqual(scripted([long]), [long], 'too long for one call: sent as it is');
});
