import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deletions, terms, withinOneEdit } from './search-terms.ts';

test('terms split names into parts and keep the whole', () => {
  assert.deepEqual(terms('weaveworks-nginx'), ['weaveworks-nginx', 'weaveworks', 'nginx']);
  assert.deepEqual(terms('Prometheus, Grafana and Loki!'), ['prometheus', 'grafana', 'and', 'loki']);
  assert.deepEqual(terms('Kubernetes 1.19+'), ['kubernetes', '1.19', '1', '19']);
});

test('one edit: substitution, insertion, deletion, transposition', () => {
  assert.ok(withinOneEdit('nginx', 'ngimx'));
  assert.ok(withinOneEdit('nginx', 'nginxx'));
  assert.ok(withinOneEdit('nginx', 'ngix'));
  assert.ok(withinOneEdit('nginx', 'ngnix'));
  assert.ok(!withinOneEdit('nginx', 'apache'));
  assert.ok(!withinOneEdit('nginx', 'nxgin'));
  assert.deepEqual(deletions('abc').sort(), ['ab', 'ac', 'bc']);
});
