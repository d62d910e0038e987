import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AppError } from './errors.ts';
import { parseYamlDocuments, toYaml } from './yaml.ts';
import { scanYamlShape } from './yaml-bounds.ts';

const NO_LIMIT = { maxDepth: Infinity, maxNodes: Infinity };

/** Nesting depth of a plain value (a scalar is 0). */
function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depthOf));
  if (v !== null && typeof v === 'object') return 1 + Math.max(0, ...Object.values(v).map(depthOf));
  return 0;
}
const refused = (re: RegExp) => (err: unknown) =>
  err instanceof AppError && err.code === 'YAML_MALFORMED' && re.test(err.message);

test('deep flow and block nesting inside the size limit is refused before parsing, naming the line', () => {
  const flow = '['.repeat(200_000) + ']'.repeat(200_000);
  assert.throws(() => parseYamlDocuments(flow), refused(/deeper than the limit of 64 levels at line 1/));
  const block = Array.from({ length: 200 }, (_, i) => ' '.repeat(i) + 'a:').join('\n') + ' 1';
  assert.throws(() => parseYamlDocuments(block), refused(/deeper than the limit of 64 levels at line 6\d/));
  const dashes = '- '.repeat(100) + 'x';
  assert.throws(() => parseYamlDocuments(dashes), refused(/deeper/));
});

test('too many nodes inside the size limit are refused before parsing', () => {
  const wide = Array.from({ length: 100_001 }, (_, i) => `- ${i}`).join('\n');
  assert.throws(() => parseYamlDocuments(wide), refused(/more than the limit of 100000 nodes/));
  assert.equal(parseYamlDocuments(wide, { maxNodes: 200_000 }).length, 1, 'a higher limit lets it through');
});

test('ordinary catalog sources and values pass with their real depth', () => {
  const text = [
    'apiVersion: weave.works/v1alpha1',
    'kind: ProfileCatalogSource',
    "metadata: {name: x, labels: {a: \"b # not a comment [\", c: 'it''s'}}",
    'spec:',
    '  profiles:',
    '    - name: app # a comment with [[[[[[',
    '      description: |',
    '        [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
    '      tag: v1.0.0',
  ].join('\n');
  const [doc] = parseYamlDocuments(text);
  assert.equal(depthOf(doc), 4);
  assert.ok(scanYamlShape(text, NO_LIMIT).depth <= 8);
});

test('property: the scan never reports less depth than the parsed value has', () => {
  const leaf = fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.boolean(), fc.constant(null));
  const value = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('node'), { maxLength: 3 }),
      fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), tie('node'), { maxKeys: 3 }),
    ),
  })).node;
  fc.assert(
    fc.property(value, fc.boolean(), (v, flowStyle) => {
      const text = flowStyle ? JSON.stringify(v) : toYaml(v);
      const shape = scanYamlShape(text, NO_LIMIT);
      const [parsed] = parseYamlDocuments(text, { maxDepth: 1000, maxNodes: 1_000_000 });
      assert.ok(shape.depth >= depthOf(parsed ?? null), `${shape.depth} < ${depthOf(parsed)} for ${text}`);
    }),
    { seed: Number(process.env.FUZZ_SEED ?? 18), numRuns: Number(process.env.FUZZ_RUNS ?? 500) },
  );
});
