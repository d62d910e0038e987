import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseYamlDocuments, toYaml } from './yaml.ts';
import { AppError } from './errors.ts';

test('parses several documents and drops empty ones', () => {
  assert.deepEqual(parseYamlDocuments('a: 1\n---\nb: 2\n---\n'), [{ a: 1 }, { b: 2 }]);
});

test('malformed YAML names the line', () => {
  assert.throws(
    () => parseYamlDocuments('a: 1\nb: [unclosed\n'),
    (err: unknown) =>
      err instanceof AppError && err.code === 'YAML_MALFORMED' && /line \d+/.test(err.message),
  );
});

test('alias bombs are refused', () => {
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 0; i < 8; i++)
    bomb.push(
      `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`,
    );
  assert.throws(
    () => parseYamlDocuments(bomb.join('\n')),
    (err: unknown) => err instanceof AppError && err.code === 'YAML_MALFORMED',
  );
});

test('oversized YAML is refused before parsing', () => {
  assert.throws(
    () => parseYamlDocuments('a: ' + 'x'.repeat(2000), { maxBytes: 1000 }),
    (err: unknown) => err instanceof AppError && err.code === 'PAYLOAD_TOO_LARGE',
  );
});

test('duplicate keys are an error', () => {
  assert.throws(
    () => parseYamlDocuments('a: 1\na: 2\n'),
    (err: unknown) => err instanceof AppError && err.code === 'YAML_MALFORMED',
  );
});

test('toYaml quotes YAML 1.1 booleans so Kubernetes reads strings', () => {
  const out = toYaml({ a: 'yes', b: 'on', c: 'no', d: 'plain' });
  assert.match(out, /a: "yes"/);
  assert.match(out, /b: "on"/);
  assert.match(out, /d: plain/);
});
