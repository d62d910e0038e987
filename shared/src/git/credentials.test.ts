import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { redactSecrets } from '../redact.ts';
import { gitCredentials } from './credentials.ts';
import { gitEnvironment } from './run.ts';

const base = { config: [['url.x.insteadOf', 'y'] as [string, string]] };

test('https credentials become one Authorization header config entry after the base config', async () => {
  const c = await gitCredentials({ username: 'u', password: 'p' }, 'https', base);
  assert.deepEqual(c.env.config, [...base.config, ['http.extraHeader', 'Authorization: Basic dTpw']]);
  const env = gitEnvironment(c.env);
  // Redirects are never followed: the header would go along to another origin.
  assert.equal(env.GIT_CONFIG_KEY_0, 'http.followRedirects');
  assert.equal(env.GIT_CONFIG_VALUE_0, 'false');
  assert.equal(env.GIT_CONFIG_COUNT, '3');
  assert.equal(env.GIT_CONFIG_KEY_2, 'http.extraHeader');
  assert.equal(
    (await gitCredentials({ token: 't' }, 'https', base)).env.config[1]?.[1],
    'Authorization: Basic eC1hY2Nlc3MtdG9rZW46dA==',
  );
  await assert.rejects(
    gitCredentials({ username: 'u' }, 'https', base),
    /neither username\/password nor token/,
  );
});

test('ssh checks host keys strictly in every case: unknown hosts are refused without known_hosts', async () => {
  const none = await gitCredentials(undefined, 'ssh', base);
  const cmd = none.env.extra?.GIT_SSH_COMMAND ?? '';
  assert.match(cmd, /StrictHostKeyChecking=yes/);
  assert.match(cmd, /UserKnownHostsFile=\/dev\/null/);
  assert.doesNotMatch(cmd, /StrictHostKeyChecking=no|accept-new/);
  await none.cleanup();

  const keyed = await gitCredentials({ identity: 'KEY', known_hosts: 'host ssh-ed25519 AAAA' }, 'ssh', base, {
    knownHostsFile: '/etc/profiles known_hosts',
  });
  const k = keyed.env.extra?.GIT_SSH_COMMAND ?? '';
  const file = /-i (\S+)/.exec(k)?.[1] ?? '';
  assert.equal(readFileSync(file, 'utf8'), 'KEY\n');
  assert.match(k, /StrictHostKeyChecking=yes/);
  assert.match(k, /'UserKnownHostsFile=\S+known_hosts \/etc\/profiles known_hosts'/);
  await keyed.cleanup();
  assert.equal(existsSync(file), false, 'the key file is removed');
  await assert.rejects(gitCredentials({ password: 'x' }, 'ssh', base), /no identity/);
});

test("git's environment holds nothing of the process but PATH and HOME", () => {
  process.env.GIT_DIR_LEAK_TEST = 'x';
  const env = gitEnvironment();
  assert.equal(env.GIT_DIR_LEAK_TEST, undefined);
  assert.equal(env.GIT_TERMINAL_PROMPT, '0');
  assert.equal(env.GIT_CONFIG_NOSYSTEM, '1');
  delete process.env.GIT_DIR_LEAK_TEST;
});

test('one redaction masks userinfo in URLs and Authorization values', () => {
  assert.equal(redactSecrets('fatal: https://bob:s3cret@host/x'), 'fatal: https://***@host/x');
  assert.equal(redactSecrets('redis://:pw@r:6379'), 'redis://***@r:6379');
  assert.equal(redactSecrets('Authorization: Basic dTpw and more'), 'Authorization: Basic *** and more');
});
