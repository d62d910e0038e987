import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersionsDesc, isPrerelease, normalizeVersion, parseTag } from './semver.ts';

test('parseTag accepts the conventions of the original CRD', () => {
  assert.deepEqual(parseTag('weaveworks-nginx/v0.1.1'), { dir: 'weaveworks-nginx', version: '0.1.1' });
  assert.deepEqual(parseTag('v1.2.3'), { dir: '', version: '1.2.3' });
  assert.deepEqual(parseTag('1.2.3-rc.1+build.5'), { dir: '', version: '1.2.3-rc.1+build.5' });
  assert.deepEqual(parseTag('a/b/v2.0.0'), { dir: 'a/b', version: '2.0.0' });
});

test('parseTag rejects what is not semver', () => {
  for (const bad of ['', 'latest', 'v1.2', '01.2.3', 'x/v1.2.3.4', 'v1.2.3-', '../v1.0.0x']) {
    assert.equal(parseTag(bad), undefined, bad);
  }
});

test('versions sort by semver precedence, newest first, pre-releases below their release', () => {
  const sorted = ['1.9.0', '1.10.0', '1.10.0-rc.1', '0.1.0', '1.10.0-alpha'].sort(compareVersionsDesc);
  assert.deepEqual(sorted, ['1.10.0', '1.10.0-rc.1', '1.10.0-alpha', '1.9.0', '0.1.0']);
});

test('normalizeVersion strips an optional v and rejects garbage', () => {
  assert.equal(normalizeVersion('v0.1.1'), '0.1.1');
  assert.equal(normalizeVersion('0.1.1'), '0.1.1');
  assert.equal(normalizeVersion('vv1.0.0'), undefined);
  assert.equal(normalizeVersion('1.0'), undefined);
});

test('the same versions compared again (parsed once) give the same order; a non-semver version throws', () => {
  const versions = ['2.0.0', '2.0.0-rc.1', '1.0.0', '10.0.0', '2.0.0-rc.1'];
  const first = [...versions].sort(compareVersionsDesc);
  assert.deepEqual([...versions].reverse().sort(compareVersionsDesc), first);
  assert.deepEqual(first, ['10.0.0', '2.0.0', '2.0.0-rc.1', '2.0.0-rc.1', '1.0.0']);
  assert.throws(() => compareVersionsDesc('1.0.0', 'latest'), /Invalid Version/);
  assert.equal(isPrerelease('2.0.0-rc.1'), true);
  assert.equal(isPrerelease('2.0.0'), false);
  assert.equal(isPrerelease('latest'), false);
});
