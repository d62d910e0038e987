import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from './config.ts';
import { AppError } from './errors.ts';

test('defaults give a working local configuration', () => {
  const c = loadConfig({});
  assert.equal(c.apiPort, 8080);
  assert.equal(c.redisUrl, 'redis://127.0.0.1:6379');
  assert.deepEqual(c.natsServers, ['nats://127.0.0.1:4222']);
  assert.equal(c.watcherMode, 'folder');
});

test('a bad variable is named in the error', () => {
  const cases: [Record<string, string>, string][] = [
    [{ API_PORT: '80a' }, 'API_PORT'],
    [{ API_PORT: '70000' }, 'API_PORT'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL'],
    [{ WATCHER_MODE: 'cloud' }, 'WATCHER_MODE'],
    [{ SNAPSHOT_INTERVAL_SECONDS: '-1' }, 'SNAPSHOT_INTERVAL_SECONDS'],
  ];
  for (const [env, name] of cases) {
    assert.throws(
      () => loadConfig(env),
      (err: unknown) =>
        err instanceof AppError && err.code === 'CONFIG_INVALID' && err.message.startsWith(name + '='),
      name,
    );
  }
});
