import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CatalogEntry } from '@profiles/shared';
import { unchangedEntry } from './unchanged-entry.ts';

const entry: CatalogEntry = {
  tag: 'nginx/v1.0.0',
  catalogSource: 'c',
  url: '',
  name: 'nginx',
  description: 'web "server"',
  maintainer: 'm',
  prerequisites: [],
  version: '1.0.0',
  catalogNamespace: 'ns',
  origin: 'inline',
  indexedAt: '2026-01-02T00:00:00.000Z',
};
const json = (e: object) => JSON.stringify(e);

test('an entry equal to the stored one but for indexedAt is the stored one, with the stored indexedAt', () => {
  const stored = json({ ...entry, indexedAt: '2025-01-01T00:00:00.000Z' });
  assert.deepEqual(unchangedEntry(entry, json(entry), stored), JSON.parse(stored));
});

test('stored with its fields in another order (or without indexedAt): still unchanged, the stored entry', () => {
  const { indexedAt: _at, ...rest } = entry;
  const reordered = json({ indexedAt: '2025-01-01T00:00:00.000Z', ...rest });
  assert.deepEqual(unchangedEntry(entry, json(entry), reordered), JSON.parse(reordered));
  assert.deepEqual(unchangedEntry(entry, json(entry), json(rest)), rest);
});

test('any other field changed: undefined', () => {
  const stored = json({ ...entry, description: 'web server', indexedAt: '2025-01-01T00:00:00.000Z' });
  assert.equal(unchangedEntry(entry, json(entry), stored), undefined);
  assert.equal(unchangedEntry(entry, json(entry), json({ ...entry, revision: 'r1' })), undefined);
});
