import { test } from 'node:test';
import assert from 'node:assert/strict';
import { secretAllows } from './binding.ts';

const secret = (repositories: string) => ({ password: 'x', repositories });

test('a secret is used only for the repositories its prefixes name: scheme, host and whole path segments', () => {
  const s = secret(
    'https://git.example.com/team-a/\nssh://git.example.com:2222/ops, https://api.example.com',
  );
  assert.ok(secretAllows(s, 'https://git.example.com/team-a/app.git'));
  assert.ok(secretAllows(s, 'https://GIT.example.com/team-a/sub/app'));
  assert.ok(secretAllows(s, 'ssh://git@git.example.com:2222/ops/gitops.git'));
  assert.ok(secretAllows(s, 'https://api.example.com/api/v4'));
  for (const other of [
    'https://git.example.com/team-ab/app.git', // not a whole segment
    'https://git.example.com/team-b/app.git',
    'http://git.example.com/team-a/app.git', // never downgraded to cleartext
    'https://git.example.com.evil.test/team-a/app.git',
    'https://evil.test/https://git.example.com/team-a/',
    'ssh://git@git.example.com/ops/gitops.git', // another port
    'https://git.example.com:8443/team-a/app.git',
  ]) {
    assert.equal(secretAllows(s, other), false, other);
  }
});

test('scp-like ssh URLs match ssh prefixes; a secret without prefixes is for nothing', () => {
  assert.ok(secretAllows(secret('ssh://github.com/acme'), 'git@github.com:acme/gitops.git'));
  assert.equal(secretAllows({ password: 'x' }, 'https://git.example.com/a'), false);
  assert.equal(secretAllows(secret(''), 'https://git.example.com/a'), false);
});
