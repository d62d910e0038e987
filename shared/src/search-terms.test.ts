import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oneEditStrings, terms, TYPO_MIN_LENGTH, withinOneEdit } from './search-terms.ts';

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
});

test('oneEditStrings: every string of 5+ characters one edit away, and only those', () => {
  const near = oneEditStrings('nginx');
  for (const t of ['ngimx', 'nginxx', 'ngnix', 'nginx-', 'xnginx']) assert.ok(near.includes(t), t);
  assert.ok(!near.includes('nginx'), 'not the word itself');
  assert.ok(!near.includes('ngix'), 'nothing under 5 characters');
  assert.equal(new Set(near).size, near.length, 'no repeats');
  for (const t of near) assert.ok(withinOneEdit(t, 'nginx') && t.length >= TYPO_MIN_LENGTH, t);
});
