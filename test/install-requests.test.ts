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

  test('the same Idempotency-Key with another body answers 422 naming the key; the same body in another key order is the same installation', async () => {
    const target = gitopsRepo(dir, 'idem-body');
    const body = {
      name: 'once',
      namespace: 'default',
      profile: { url: `file://${examples}`, tag: 'bitnami-nginx/v0.0.2' },
      target: { url: `file://${target}`, branch: 'main' },
    };
    const a = await post(`${ins.api}/v1/installations`, body, { 'idempotency-key': 'key-body' });
    assert.equal(a.status, 202, JSON.stringify(a.body));
    const reordered = { target: body.target, profile: body.profile, namespace: 'default', name: 'once' };
    const b = await post(`${ins.api}/v1/installations`, reordered, { 'idempotency-key': 'key-body' });
    assert.equal(b.status, 202);
    assert.equal(b.body.id, a.body.id);

    const other = await post(
      `${ins.api}/v1/installations`,
      { ...body, name: 'twice' },
      { 'idempotency-key': 'key-body' },
    );
    assert.equal(other.status, 422, JSON.stringify(other.body));
    assert.match(String(other.headers.get('content-type')), /application\/problem\+json/);
    assert.equal(other.body.code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal(other.body.parameter, 'Idempotency-Key');
    assert.match(other.body.detail, /"key-body"/);
    // The first request is untouched.
    const doc = await getJson(`${ins.api}/v1/installations/${a.body.id}`);
    assert.equal(doc.status, 200);
    assert.equal(
      (await ins.redis.get(`${stack.prefix}installation-request:${a.body.id}`))?.includes('"once"'),
      true,
    );
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
    const c = await post(
      `${ins.api}/v1/repositories/installations/upgrade`,
      { ...body, version: '0.0.3' },
      { 'idempotency-key': 'key-path' },
    );
    assert.equal(c.status, 422);
    assert.equal(c.body.code, 'IDEMPOTENCY_KEY_REUSED');
  });
});
