import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NOT_STARTED, RepositoryGate } from './repository-gate.ts';

/** A task that records when it starts and finishes when told to. */
function controlled(log: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  return {
    finish: () => finish(),
    work: async () => {
      log.push(name);
      await done;
      return name;
    },
  };
}

test('a busy repository takes its share of the slots; another repository starts at the next free slot', async () => {
  const gate = new RepositoryGate(2, 1);
  const log: string[] = [];
  const busy = Array.from({ length: 5 }, (_, i) => controlled(log, `busy-${i}`));
  const runs = busy.map((t) => gate.run(0, 'busy', t.work));
  const quiet = controlled(log, 'quiet');
  const quietRun = gate.run(0, 'quiet', quiet.work);
  await new Promise((r) => setImmediate(r));
  // One slot per repository: busy-0 and quiet run, although four busy tasks arrived first.
  assert.deepEqual(log, ['busy-0', 'quiet']);
  assert.deepEqual(gate.size(), { running: 2, waiting: 4 });
  quiet.finish();
  assert.equal(await quietRun, 'quiet');
  busy[0]!.finish();
  assert.equal(await runs[0], 'busy-0');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(log, ['busy-0', 'quiet', 'busy-1'], 'the repository keeps its arrival order');
  for (const t of busy.slice(1)) t.finish();
  assert.deepEqual(await Promise.all(runs), ['busy-0', 'busy-1', 'busy-2', 'busy-3', 'busy-4']);
  assert.deepEqual(gate.size(), { running: 0, waiting: 0 });
});

test('closing a group gives back its tasks not started and refuses new ones; running ones finish', async () => {
  const gate = new RepositoryGate(1, 1);
  const log: string[] = [];
  const a = controlled(log, 'a');
  const b = controlled(log, 'b');
  const c = controlled(log, 'c');
  const ra = gate.run(3, 'repo', a.work);
  const rb = gate.run(3, 'repo', b.work);
  const rc = gate.run(4, 'other', c.work);
  gate.close(3);
  assert.equal(await rb, NOT_STARTED);
  assert.equal(await gate.run(3, 'repo', async () => 'late'), NOT_STARTED);
  a.finish();
  assert.equal(await ra, 'a');
  c.finish();
  assert.equal(await rc, 'c', 'another group is untouched');
  gate.open(3);
  assert.equal(await gate.run(3, 'repo', async () => 'again'), 'again');
  assert.deepEqual(log, ['a', 'c']);
});

test('a task that releases its slot early lets the next one start while it finishes', async () => {
  const gate = new RepositoryGate(1, 1);
  const log: string[] = [];
  let finishFirst!: () => void;
  const first = gate.run(0, 'repo', async (release) => {
    log.push('first');
    release();
    release(); // a second call frees nothing more
    await new Promise<void>((r) => (finishFirst = r));
    return 'first';
  });
  const second = controlled(log, 'second');
  const third = controlled(log, 'third');
  const runs = [gate.run(0, 'repo', second.work), gate.run(0, 'other', third.work)];
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(log, ['first', 'second'], 'one slot: the second took the one the first gave back');
  assert.deepEqual(gate.size(), { running: 1, waiting: 1 });
  second.finish();
  await runs[0];
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(log, ['first', 'second', 'third']);
  third.finish();
  finishFirst();
  assert.equal(await first, 'first');
  assert.deepEqual(gate.size(), { running: 0, waiting: 0 });
});
