import { test } from 'node:test';
import assert from 'node:assert/strict';
import pc from 'picocolors';
import { conflictList, hasConflicts } from './conflicts.ts';

const FILE = 'clusters/dev/app/artifacts/config/config/cm.yaml';
const OTHER = 'clusters/dev/app/artifacts/config/config/deploy.yaml';
const HUNK = [
  'data:',
  '<<<<<<< repository',
  '  replicas: "5"',
  '||||||| installed',
  '  replicas: "1"',
  '=======',
  '  replicas: "2"',
  '>>>>>>> upgrade',
  'kind: ConfigMap',
  '',
].join('\n');
const SECOND = ['<<<<<<< repository', 'a: 1', '||||||| installed', '=======', 'a: 2', '>>>>>>> upgrade'].join(
  '\n',
);
const doc = {
  conflicts: [FILE, OTHER],
  conflictHunks: [
    { file: FILE, hunks: [HUNK, SECOND] },
    { file: OTHER, hunks: [] },
  ],
};

test('each conflicting file is listed with its hunks indented under it, hunks parted by ⋯', () => {
  assert.equal(
    conflictList(doc, pc.createColors(false)),
    [
      `  - ${FILE}`,
      '    data:',
      '    <<<<<<< repository',
      '      replicas: "5"',
      '    ||||||| installed',
      '      replicas: "1"',
      '    =======',
      '      replicas: "2"',
      '    >>>>>>> upgrade',
      '    kind: ConfigMap',
      '    ⋯',
      '    <<<<<<< repository',
      '    a: 1',
      '    ||||||| installed',
      '    =======',
      '    a: 2',
      '    >>>>>>> upgrade',
      `  - ${OTHER}`,
    ].join('\n'),
  );
});

test("on a terminal the sides are coloured: the repository's lines yellow, the installed dim, the upgrade green", () => {
  const c = pc.createColors(true);
  const lines = conflictList({ conflictHunks: [{ file: FILE, hunks: [HUNK] }] }, c).split('\n');
  assert.equal(lines[0], `  - ${FILE}`, 'a file named only in conflictHunks is listed too');
  assert.equal(lines[1], '    data:', 'context stays plain');
  assert.equal(lines[2], `    ${c.bold(c.cyan('<<<<<<< repository'))}`);
  assert.equal(lines[3], `    ${c.yellow('  replicas: "5"')}`);
  assert.equal(lines[5], `    ${c.dim('  replicas: "1"')}`);
  assert.equal(lines[7], `    ${c.green('  replicas: "2"')}`);
  assert.equal(lines[9], '    kind: ConfigMap', 'plain again after the closing marker');
  assert.notEqual(c.yellow('x'), 'x', 'colours are on');
});

test('without conflictHunks (an older installer) only the file list is printed', () => {
  assert.equal(
    conflictList({ conflicts: [FILE, OTHER] }, pc.createColors(true)),
    `  - ${FILE}\n  - ${OTHER}`,
  );
  assert.equal(hasConflicts({ conflicts: [FILE] }), true);
  assert.equal(hasConflicts({ conflictHunks: [{ file: FILE, hunks: [HUNK] }] }), true);
  assert.equal(hasConflicts({ conflicts: [] }), false);
  assert.equal(hasConflicts({}), false);
});

test("a file's control characters are shown as codes, not sent to the terminal", () => {
  const hunk = '<<<<<<< repository\nname: "\x1b]0;owned\x07"\tx\n=======\nname: b\n>>>>>>> upgrade\n';
  const text = conflictList({ conflictHunks: [{ file: FILE, hunks: [hunk] }] }, pc.createColors(false));
  assert.equal(text.split('\n')[2], '    name: "\\x1b]0;owned\\x07"\tx');
  assert.ok(!text.includes('\x1b'));
});
