import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topFacetValues } from './search-query.ts';

const counts = {
  catalog: { 'ns/a': 2, 'ns/b': 7, 'ns/c': 7, 'ns/d': 1 },
  kind: { chart: 3 },
};

test('facets list their most frequent values first, ties by value, and count them all', () => {
  const { facets, facetTotals } = topFacetValues(counts, 2);
  assert.deepEqual(Object.entries(facets.catalog!), [
    ['ns/b', 7],
    ['ns/c', 7],
  ]);
  assert.deepEqual(facets.kind, { chart: 3 });
  assert.deepEqual(facetTotals, { catalog: 4, kind: 1 });
});

test('a limit of 0 lists no values but still counts them; a large one lists all', () => {
  assert.deepEqual(topFacetValues(counts, 0), { facets: {}, facetTotals: { catalog: 4, kind: 1 } });
  assert.deepEqual(Object.keys(topFacetValues(counts, 1000).facets.catalog!), [
    'ns/b',
    'ns/c',
    'ns/a',
    'ns/d',
  ]);
});
