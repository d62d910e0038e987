import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FACET_ROW, FacetRows } from './search-facet-rows.ts';

const DOCS = 12;
const VALUES = 6;

// A document gets a row, loses it, or is given another; rows repeat often, so numbers are shared and freed.
const step = fc.record({
  id: fc.nat(DOCS - 1),
  values: fc.option(fc.uniqueArray(fc.nat(VALUES - 1), { maxLength: FACET_ROW + 2 }), { nil: undefined }),
});

test('interned facet rows answer as a row per document would, through sets, clears and reuse', () => {
  fc.assert(
    fc.property(
      fc.array(step, { maxLength: 60 }),
      fc.array(fc.nat(DOCS - 1), { maxLength: 40 }),
      (steps, ids) => {
        const rows = new FacetRows();
        rows.grow(DOCS);
        const plain = new Map<number, number[]>();
        for (const { id, values } of steps) {
          if (values === undefined) {
            rows.clear(id);
            plain.delete(id);
          } else {
            rows.set(id, values);
            plain.set(id, values.slice(0, FACET_ROW));
          }
        }
        for (let id = 0; id < DOCS; id++) {
          const want = plain.get(id) ?? [];
          assert.deepEqual(
            [...rows.rowAt(id)].filter((f) => f >= 0),
            want,
          );
          for (let f = 0; f < VALUES; f++) assert.equal(rows.has(id, f), want.includes(f));
        }
        assert.equal(rows.distinct, new Set([...plain.values()].map((r) => r.join())).size);
        const counts = new Int32Array(VALUES);
        rows.countAll(ids, counts);
        const want = new Int32Array(VALUES);
        for (const id of ids) for (const f of plain.get(id) ?? []) want[f]!++;
        assert.deepEqual(counts, want);
        rows.countAll(ids, counts); // the scratch tally starts from zero again
        assert.deepEqual(
          counts,
          want.map((c) => 2 * c),
        );
      },
    ),
    { numRuns: 400 },
  );
});
