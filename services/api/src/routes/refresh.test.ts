import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { AppError } from '@profiles/shared';
import { repositoryUrls, verifyWebhook } from './refresh.ts';

const body = Buffer.from('{"repository":{"clone_url":"https://git.example.com/a/b.git"}}');
const hmac = createHmac('sha256', 's3cret').update(body).digest('hex');

test('GitHub, Gitea and GitLab hooks are verified by their own scheme', () => {
  assert.equal(
    verifyWebhook({ 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hmac}` }, body, 's3cret')
      .provider,
    'github',
  );
  assert.equal(
    verifyWebhook({ 'x-gitea-event': 'push', 'x-gitea-signature': hmac }, body, 's3cret').provider,
    'gitea',
  );
  assert.equal(
    verifyWebhook({ 'x-gitlab-event': 'Tag Push Hook', 'x-gitlab-token': 's3cret' }, body, 's3cret').provider,
    'gitlab',
  );
});

test('wrong signatures, tokens and unknown senders are refused', () => {
  const refused = (h: Record<string, string>, code: string) =>
    assert.throws(
      () => verifyWebhook(h, body, 's3cret'),
      (e: unknown) => e instanceof AppError && e.code === code,
    );
  refused({ 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` }, 'UNAUTHORIZED');
  refused({ 'x-github-event': 'push' }, 'UNAUTHORIZED');
  refused({ 'x-gitea-event': 'push', 'x-gitea-signature': 'nope' }, 'UNAUTHORIZED');
  refused({ 'x-gitlab-event': 'push', 'x-gitlab-token': 'guess' }, 'UNAUTHORIZED');
  refused({}, 'BAD_REQUEST');
});

test('repository URLs are taken from each provider payload shape', () => {
  assert.deepEqual(repositoryUrls({ repository: { clone_url: 'https://h/a.git', ssh_url: 'git@h:a.git' } }), [
    'https://h/a.git',
    'git@h:a.git',
  ]);
  assert.deepEqual(repositoryUrls({ project: { git_http_url: 'https://gl/a.git' } }), ['https://gl/a.git']);
  assert.deepEqual(repositoryUrls('junk'), []);
});
