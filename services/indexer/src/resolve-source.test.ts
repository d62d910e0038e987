import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCatalogSourceDocument } from '@profiles/shared';
import { resolveInline } from './resolve-source.ts';

test('valid entries are indexed while invalid ones are reported by position and name', () => {
  const doc = checkCatalogSourceDocument({
    apiVersion: 'weave.works/v1alpha1',
    kind: 'ProfileCatalogSource',
    metadata: { name: 'c', namespace: 'team-a' },
    spec: {
      profiles: [
        { name: 'good', tag: 'good/v1.0.0', description: 'd' },
        { name: 'bad', tag: 'v1.0' },
        { name: 'good', tag: 'v1.0.0' },
        'garbage',
      ],
    },
  });
  assert.ok(doc.ok);
  const r = resolveInline(doc.ref, doc.document, '2026-01-01T00:00:00Z');
  assert.equal(r.entries.length, 1);
  assert.equal(r.entries[0]!.catalogSource, 'c');
  assert.equal(r.entries[0]!.catalogNamespace, 'team-a');
  assert.deepEqual(
    r.entryErrors.map((e) => e.entry),
    ['spec.profiles[1] (bad v1.0)', 'spec.profiles[2] (good v1.0.0)', 'spec.profiles[3]'],
  );
  assert.match(r.entryErrors[1]!.reason, /duplicate of spec.profiles\[0\]/);
});
