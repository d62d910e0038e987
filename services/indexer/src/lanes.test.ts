import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Lanes } from './lanes.ts';

const tick = () => new Promise<void>((r) => setImmediate(r));

test('tasks of one key run in the order given, one at a time; other keys run beside them', async () => {
  const lanes = new Lanes(2);
  // A key on the other lane than a's.
  let other = 'b';
  for (let i = 0; lanes.laneOf(other) === lanes.laneOf('a'); i++) other = `b${i}`;
  const log: string[] = [];
  let running = 0;
  let most = 0;
  const task = (name: string) => async () => {
    running++;
    most = Math.max(most, running);
    log.push(`start ${name}`);
    await tick();
    await tick();
    log.push(`end ${name}`);
    running--;
  };
  await lanes.push('a', task('a1'));
  await lanes.push(other, task('b1'));
  await lanes.push('a', task('a2'));
  await lanes.drain();
  assert.equal(most, 2, 'two lanes at once');
  assert.ok(log.indexOf('end a1') < log.indexOf('start a2'), 'a2 after a1');
  assert.ok(log.indexOf('start b1') < log.indexOf('end a1'), 'b1 beside a1');
});

test('a task without a key runs alone, after everything before it and before everything after it', async () => {
  const lanes = new Lanes(3);
  const log: string[] = [];
  let running = 0;
  const task = (name: string) => async () => {
    running++;
    log.push(`start ${name} ${running}`);
    await tick();
    running--;
    log.push(`end ${name}`);
  };
  for (const k of ['x', 'y', 'z']) await lanes.push(k, task(k));
  await lanes.push(undefined, task('barrier'));
  await lanes.push('x', task('x2'));
  await lanes.drain();
  const b = log.indexOf('start barrier 1');
  assert.ok(b > 0, `the barrier ran alone: ${log.join(', ')}`);
  for (const k of ['x', 'y', 'z']) assert.ok(log.indexOf(`end ${k}`) < b);
  assert.ok(log.indexOf('end barrier') < log.findIndex((l) => l.startsWith('start x2')));
});

test('the first failure stops the rest and is thrown by drain and later pushes', async () => {
  const lanes = new Lanes(2);
  const ran: string[] = [];
  await lanes.push('a', async () => {
    await tick();
    throw new Error('boom');
  });
  await lanes.push('a', async () => {
    ran.push('after the failure');
  });
  await assert.rejects(lanes.drain(), /boom/);
  assert.deepEqual(ran, [], 'a task queued behind a failure does not run');
  await assert.rejects(
    lanes.push('b', async () => undefined),
    /boom/,
  );
});

test('push waits while a lane holds `depth` tasks', async () => {
  const lanes = new Lanes(1, 2);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  await lanes.push('a', () => gate);
  await lanes.push('a', async () => undefined);
  let third = false;
  const p = lanes.push('a', async () => undefined).then(() => (third = true));
  await tick();
  assert.equal(third, false, 'the third push waits for room');
  release();
  await p;
  assert.equal(third, true);
  await lanes.drain();
});

test('property: per key, tasks finish in the order given, whatever the keys, lanes and timings', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.array(
        fc.record({ key: fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { freq: 8 }), wait: fc.nat(3) }),
        {
          maxLength: 30,
        },
      ),
      async (count, tasks) => {
        const lanes = new Lanes(count);
        const done: { key: string | null; i: number }[] = [];
        let barrierAlone = true;
        let running = 0;
        for (const [i, t] of tasks.entries())
          await lanes.push(t.key ?? undefined, async () => {
            running++;
            if (t.key === null && running > 1) barrierAlone = false;
            for (let w = 0; w < t.wait; w++) await tick();
            running--;
            done.push({ key: t.key, i });
          });
        await lanes.drain();
        assert.equal(done.length, tasks.length);
        assert.ok(barrierAlone);
        for (const key of ['a', 'b', 'c', 'd', 'e']) {
          const order = done.filter((d) => d.key === key || d.key === null).map((d) => d.i);
          assert.deepEqual(
            order,
            [...order].sort((x, y) => x - y),
            `order of ${key} and barriers`,
          );
        }
      },
    ),
    { numRuns: 200 },
  );
});
