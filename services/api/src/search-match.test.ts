import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HitPool } from './search-hits.ts';
import { Matcher, type Posting } from './search-match.ts';

const DOCS = 40;
const TERMS = ['t0', 't1', 't2', 't3', 't4'];

// Postings: per term, distinct documents with small integer weights (a document appears once per term).
const postingsArb = fc.tuple(
  ...TERMS.map(() =>
    fc.uniqueArray(fc.record({ id: fc.nat(DOCS - 1), weight: fc.integer({ min: 1, max: 9 }) }), {
      selector: (e) => e.id,
      maxLength: 25,
    }),
  ),
);
const wordArb = fc.uniqueArray(
  fc.record({ term: fc.constantFrom(...TERMS, 'absent'), factor: fc.constantFrom(1, 0.5, 0.25) }),
  { selector: (s) => s.term, minLength: 1, maxLength: 4 },
);

/**
 * The plain reading of match(): per word the best of its sources, words summed, the bonus added; documents every
 * word has.
 */
function plainMatch(
  postings: Map<string, Posting>,
  words: { term: string; factor: number }[][],
  bonus: { ids: Set<number>; add: number },
) {
  const perWord = words.map((sources) => {
    const best = new Map<number, number>();
    for (const { term, factor } of sources) {
      const p = postings.get(term);
      p?.ids.forEach((id, j) => best.set(id, Math.max(best.get(id) ?? -Infinity, p.weights[j]! * factor)));
    }
    return best;
  });
  perWord.sort((a, b) => a.size - b.size);
  const out = new Map<number, number>();
  for (const [id, s] of perWord[0] ?? []) {
    if (perWord.slice(1).every((w) => w.has(id)))
      out.set(
        id,
        perWord.slice(1).reduce((total, w) => total + w.get(id)!, s) + (bonus.ids.has(id) ? bonus.add : 0),
      );
  }
  return out;
}

test('match() gives each matching document once with its score and bonus, for one word and for several', () => {
  fc.assert(
    fc.property(
      postingsArb,
      fc.array(wordArb, { minLength: 1, maxLength: 3 }),
      fc.nat(3),
      fc.uniqueArray(fc.nat(DOCS - 1), { maxLength: 6 }),
      (lists, words, repeat, bonused) => {
        const postings = new Map<string, Posting>(
          TERMS.map((t, i) => [
            t,
            { ids: lists[i]!.map((e) => e.id), weights: lists[i]!.map((e) => e.weight) },
          ]),
        );
        const matcher = new Matcher({
          posting: (t) => postings.get(t),
          idLimit: () => DOCS,
          live: () => DOCS,
          pool: new HitPool(),
        });
        const sources = words.map((w) => w.map(({ term, factor }): [string, number] => [term, factor]));
        for (let r = 0; r <= repeat; r++) {
          // again: stamps of an earlier query must not leak into the next
          const bonus = { ids: new Set(bonused), add: 1000 };
          const hits = matcher.match(sources, bonus);
          const got = new Map([...hits.idView()].map((id, i) => [id, hits.scores[i]!]));
          assert.equal(got.size, hits.length, 'each document once');
          assert.deepEqual(got, plainMatch(postings, words, bonus));
        }
      },
    ),
    { numRuns: 400 },
  );
});
