import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INSTALL_CONSUMERS, INSTALL_PARTITIONS, installPartition, SUBJECTS } from './subjects.ts';

test('an install subject names the repository however its URL is written, and never its credentials', () => {
  const plain = SUBJECTS.installRequest('https://github.com/acme/gitops');
  for (const same of [
    'https://github.com/Acme/GitOps.git',
    'https://someone:s3cret@GITHUB.com/acme/gitops/',
    ' https://github.com/acme/gitops.git ',
  ]) {
    assert.equal(SUBJECTS.installRequest(same), plain, same);
  }
  assert.doesNotMatch(
    SUBJECTS.installRequest('https://someone:s3cret@github.com/acme/gitops'),
    /s3cret|someone/,
  );
  assert.notEqual(SUBJECTS.installRequest('https://github.com/acme/other'), plain);
  assert.match(plain, /^profiles\.installs\.requests\.\d\d\.[0-9a-f]{16}$/);
});

test("each repository's subject is on its partition's consumer filter, and repositories spread over all partitions", () => {
  const seen = new Set<number>();
  for (let i = 0; i < 400; i++) {
    const url = `https://git.example.com/team-${i}/gitops.git`;
    const p = installPartition(url);
    assert.ok(p >= 0 && p < INSTALL_PARTITIONS);
    const filter = INSTALL_CONSUMERS.partition(p).filterSubject!;
    assert.equal(SUBJECTS.installRequest(url).startsWith(filter.slice(0, -1)), true, `${url} on ${filter}`);
    seen.add(p);
  }
  assert.equal(seen.size, INSTALL_PARTITIONS);
  // The unpartitioned consumer's exact subject overlaps no partition's filter (a work queue refuses overlaps).
  assert.equal(INSTALL_CONSUMERS.unpartitioned.filterSubject, SUBJECTS.installRequestUnpartitioned);
});
