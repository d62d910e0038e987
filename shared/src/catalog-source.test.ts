import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCatalogSourceDocument, checkInlineEntry, checkSourceAccess } from './catalog-source.ts';

const base = {
  apiVersion: 'weave.works/v1alpha1',
  kind: 'ProfileCatalogSource',
  metadata: { name: 'nginx-catalog' },
};

test('a source without namespace lands in default, with empty lists', () => {
  const r = checkCatalogSourceDocument(base);
  assert.ok(r.ok);
  assert.deepEqual(r.ref, { namespace: 'default', name: 'nginx-catalog' });
  assert.deepEqual(r.document.spec, { profiles: [], repositories: [] });
});

test('the envelope is checked with a reason naming the field', () => {
  const cases: [unknown, RegExp][] = [
    ['just a string', /mapping/],
    [{ ...base, apiVersion: 'v1' }, /apiVersion/],
    [{ ...base, kind: 'ConfigMap' }, /kind/],
    [{ ...base, metadata: {} }, /metadata.name/],
    [{ ...base, metadata: { name: 'Bad_Name' } }, /metadata.name/],
    [{ ...base, metadata: { name: 'a', namespace: 'x.y' } }, /namespace/],
    [{ ...base, spec: { profiles: 'nope' } }, /spec.profiles/],
  ];
  for (const [doc, re] of cases) {
    const r = checkCatalogSourceDocument(doc);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.reason, re);
  }
});

test('entries: valid ones become catalog entries with a canonical version', () => {
  const r = checkInlineEntry({
    name: 'weaveworks-nginx',
    tag: 'weaveworks-nginx/v0.1.1',
    prerequisites: ['k8s 1.19'],
  });
  assert.ok(r.ok);
  assert.equal(r.entry.version, '0.1.1');
  assert.equal(r.entry.description, '');
});

test('entries: missing name, bad semver and wrong types are rejected', () => {
  assert.match((checkInlineEntry({ tag: 'v1.0.0' }) as { reason: string }).reason, /name is required/);
  assert.match((checkInlineEntry({ name: 'a', tag: 'v1.0' }) as { reason: string }).reason, /semver/);
  assert.match(
    (checkInlineEntry({ name: 'a', tag: 'v1.0.0', prerequisites: [1] }) as { reason: string }).reason,
    /prerequisites/,
  );
  assert.match(
    (checkInlineEntry({ name: 'a', tag: 5 }) as { reason: string }).reason,
    /tag must be a string/,
  );
});

test('spec.access: users, groups and public are kept; anything else makes the source invalid, naming the field', () => {
  const doc = (access: unknown) => ({
    apiVersion: 'weave.works/v1alpha1',
    kind: 'ProfileCatalogSource',
    metadata: { name: 'apps', namespace: 'team-a' },
    spec: { access },
  });
  const ok = checkCatalogSourceDocument(doc({ users: ['alice'], groups: ['team-a'], public: false }));
  assert.ok(ok.ok);
  assert.deepEqual(ok.document.spec.access, { users: ['alice'], groups: ['team-a'], public: false });
  const none = checkCatalogSourceDocument(doc(undefined));
  assert.ok(none.ok);
  assert.equal(none.document.spec.access, undefined, 'absent stays absent (the default access applies)');
  const reason = (a: unknown) => (checkSourceAccess(a) as { reason: string }).reason;
  assert.match(reason({ users: 'alice' }), /spec\.access\.users must be a list/);
  assert.match(reason({ groups: [''] }), /spec\.access\.groups/);
  assert.match(reason({ public: 'yes' }), /spec\.access\.public must be true or false/);
  assert.match(reason({ roles: ['x'] }), /spec\.access\.roles is not a field/);
  assert.match(reason(['alice']), /spec\.access must be a mapping/);
  const bad = checkCatalogSourceDocument(doc({ public: 'yes' }));
  assert.ok(!bad.ok);
});
