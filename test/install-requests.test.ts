/**
 * Install requests as the API takes them, on real servers (Redis, NATS JetStream, git over file://):
 * Idempotency-Key semantics on every route that creates a request.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, startStack, type Stack } from './harness/index.ts';
import { examplesRepo, gitopsRepo, startInstallerStack, type InstallerStack } from './harness/installer.ts';

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  getJson(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('install requests', () => {
  let stack: Stack;
  let dir: string;
  let examples: string;
  let ins: InstallerStack;

  before(async () => {
    stack = await startStack();
    dir = await stack.tempDir('install-requests-');
    examples = examplesRepo(dir);
    // No installer yet: requests wait in the work queue, which is all these tests look at.
    ins = await startInstallerStack(stack, examples, 0);
  });
  after(async () => {
    await ins?.close();
    await stack?.stop();
  });

  test('upgrade by path honours the Idempotency-Key like every other request', async () => {
    const target = gitopsRepo(dir, 'idem-path');
    const body = { url: `file://${target}`, path: 'clusters/dev/once' };
    const a = await post(`${ins.api}/v1/repositories/installations/upgrade`, body, {
      'idempotency-key': 'key-path',
    });
    const b = await post(`${ins.api}/v1/repositories/installations/upgrade`, body, {
      'idempotency-key': 'key-path',
    });
    assert.equal(a.status, 202, JSON.stringify(a.body));
    assert.equal(b.body.id, a.body.id, 'one installation for one key');
  });
});
