import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactSecrets } from '@profiles/shared/runtime';
import { checkRepoUrl, normalizeRepoUrl } from './repo-url.ts';

const policy = { allowFile: false, denyHosts: ['169.254.', 'metadata.google.internal'] };

test('http(s), ssh and scp-like URLs are accepted', () => {
  assert.equal(checkRepoUrl('https://github.com/weaveworks/profiles-examples', policy).scheme, 'https');
  assert.equal(checkRepoUrl('ssh://git@github.com/a/b', policy).scheme, 'ssh');
  assert.deepEqual(checkRepoUrl('git@github.com:a/b.git', policy), { scheme: 'ssh', host: 'github.com' });
});

test('other schemes, denied hosts, file URLs (unless allowed) and option-like URLs are refused', () => {
  for (const bad of [
    'ftp://x/y',
    'http://169.254.169.254/latest',
    'https://metadata.google.internal/x',
    'file:///etc',
    '--upload-pack=evil',
    'ext::sh -c x',
  ]) {
    assert.throws(() => checkRepoUrl(bad, policy), /refused/, bad);
  }
  assert.equal(checkRepoUrl('file:///srv/repo.git', { ...policy, allowFile: true }).scheme, 'file');
});

test('URLs of one repository normalise alike', () => {
  const n = normalizeRepoUrl('https://GitHub.com/weaveworks/profiles-examples.git/');
  assert.equal(n, normalizeRepoUrl('https://github.com/weaveworks/profiles-examples'));
  assert.equal(n, normalizeRepoUrl('git@github.com:weaveworks/profiles-examples.git'));
});

test('credentials in URLs are redacted from messages', () => {
  assert.equal(
    redactSecrets('fatal: unable to access https://bob:s3cret@host/x'),
    'fatal: unable to access https://***@host/x',
  );
});
