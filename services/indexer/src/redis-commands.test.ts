import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coalesce, type RedisCommand } from './redis-commands.ts';

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
