import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ago, colorsWanted, table } from './output.ts';

test('a table cuts only the flexible column, with …, to fit the width', async () => {
  const rows = [['nginx', 'a long description that will not fit in the terminal', 'me']];
  const full = (await table(['NAME', 'DESCRIPTION', 'BY'], rows)).split('\n');
  assert.equal(full[1], 'nginx  a long description that will not fit in the terminal  me');
  const cut = (await table(['NAME', 'DESCRIPTION', 'BY'], rows, { flexible: 1, width: 40 })).split('\n');
  assert.ok(
    cut.every((l) => l.length <= 40),
    cut.join('\n'),
  );
  assert.match(cut[1]!, /^nginx {2}a long description.*… {2}me$/);
});

test('ages read as people say them', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  assert.equal(ago('2026-01-01T11:59:30Z', now), '30s ago');
  assert.equal(ago('2026-01-01T11:00:00Z', now), '1h ago');
  assert.equal(ago('2025-12-30T12:00:00Z', now), '2d ago');
  assert.equal(ago(null, now), '');
});

test('colours only on a terminal, never with NO_COLOR, FORCE_COLOR forcing them', () => {
  assert.equal(colorsWanted({}, true), true);
  assert.equal(colorsWanted({ CI: 'true' }, false), false, 'piped output in CI stays plain');
  assert.equal(colorsWanted({ NO_COLOR: '' }, true), false);
  assert.equal(colorsWanted({ TERM: 'dumb' }, true), false);
  assert.equal(colorsWanted({ FORCE_COLOR: '1' }, false), true);
  assert.equal(colorsWanted({ FORCE_COLOR: '0' }, true), false);
});
