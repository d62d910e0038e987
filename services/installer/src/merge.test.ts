import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conflictRegions, mergeTrees } from './merge.ts';

const b = (s: string) => Buffer.from(s);
const lines = (n: number, edit: Record<number, string> = {}) =>
  Array.from({ length: n }, (_, i) => edit[i + 1] ?? `line ${i + 1}`).join('\n') + '\n';

test('conflict hunks: diff3 regions with three lines of context, near regions joined, far ones apart', async () => {
  const base = new Map([['d/f', b(lines(30))]]);
  const ours = new Map([['d/f', b(lines(30, { 5: 'mine 5', 7: 'mine 7', 25: 'mine 25' }))]]);
  const theirs = new Map([['d/f', b(lines(30, { 5: 'new 5', 7: 'new 7', 25: 'new 25' }))]]);
  const m = await mergeTrees(base, ours, theirs, { config: [] });
  assert.deepEqual(m.conflicts, ['d/f']);
  assert.equal(m.files.get('d/f')?.toString(), lines(30, { 5: 'mine 5', 7: 'mine 7', 25: 'mine 25' }));
  const [h] = m.hunks;
  assert.equal(h?.file, 'd/f');
  // git joins the conflicts on lines 5 and 7 into one region; line 25 is its own hunk.
  assert.equal(h?.hunks.length, 2, JSON.stringify(h?.hunks));
  assert.equal(
    h?.hunks[1],
    [
      'line 22',
      'line 23',
      'line 24',
      '<<<<<<< repository',
      'mine 25',
      '||||||| installed',
      'line 25',
      '=======',
      'new 25',
      '>>>>>>> upgrade',
      'line 26',
      'line 27',
      'line 28',
    ].join('\n'),
  );
  assert.match(h!.hunks[0]!, /^line 2\nline 3\nline 4\n<<<<<<< repository\nmine 5\n/);
  // The marked file (written into a pull request under `markers`) has the same labels.
  assert.match(m.marked.get('d/f')!.toString(), /<<<<<<< repository[\s\S]*>>>>>>> upgrade/);
});

test('conflict hunks: a file the new version removes but the user edited shows both sides whole', async () => {
  const m = await mergeTrees(new Map([['d/g', b('a: 1\n')]]), new Map([['d/g', b('a: 2\n')]]), new Map(), {
    config: [],
  });
  assert.deepEqual(m.hunks, [
    {
      file: 'd/g',
      hunks: ['<<<<<<< repository\na: 2\n||||||| installed\na: 1\n=======\n(no such file)\n>>>>>>> upgrade'],
    },
  ]);
});

test('conflict hunks are bounded: regions and lines', () => {
  const region = (i: number) =>
    `x${i}\n<<<<<<< repository\na\n||||||| installed\nb\n=======\nc\n>>>>>>> upgrade\n`;
  const many = Array.from({ length: 30 }, (_, i) => `${region(i)}\n\n\n\n\n\n\n`).join('');
  assert.equal(conflictRegions(many).length, 20);
  const long = `<<<<<<< repository\n${'a\n'.repeat(500)}=======\nb\n>>>>>>> upgrade\n`;
  const [h] = conflictRegions(long);
  assert.match(h!, /… \d+ more lines$/);
  assert.ok(h!.split('\n').length <= 201);
});
