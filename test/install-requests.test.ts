/**
 * Install requests as the API takes them, on real servers (Redis, NATS JetStream, git over file://):
 * Idempotency-Key semantics on every route that creates a request, and the installer's consumer surviving
 * its deletion while requests are queued.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { INSTALL_CONSUMERS, installPartition } from '@profiles/shared';
import { ensureConsumer } from '@profiles/shared/runtime';
import { getJson, startStack, waitFor, type Stack } from './harness/index.ts';
import {
  examplesRepo,
  gitopsRepo,
  gitSync,
  startInstallerStack,
  type InstallerStack,
} from './harness/installer.ts';

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

  test('a request accepted before Redis lost everything is still installed: its message carries it', async () => {
    const target = gitopsRepo(dir, 'wiped');
    const r = await post(`${ins.api}/v1/installations`, {
      name: 'survivor',
      namespace: 'default',
      profile: { url: `file://${examples}`, tag: 'bitnami-nginx/v0.0.2' },
      target: { url: `file://${target}`, branch: 'main', path: 'survivor' },
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const id = r.body.id as string;
    // Published (off the outbox) before the wipe, so only JetStream still has it afterwards.
    await waitFor(async () => (await ins.redis.zcard(`${stack.prefix}installation-unpublished`)) === 0, {
      what: 'the request published',
    });
    await ins.redis.flushall();
    assert.equal((await getJson(`${ins.api}/v1/installations/${id}`)).status, 404);
    // The first installer starts only now: the request waited in JetStream through the wipe.
    await ins.addInstaller();
    const doc = await waitFor(
      async () => {
        const s = await getJson(`${ins.api}/v1/installations/${id}`);
        return ['committed', 'failed'].includes(s.body?.status) ? s.body : undefined;
      },
      { timeoutMs: 60_000, what: 'the installation after the wipe' },
    );
    assert.equal(doc.status, 'committed', JSON.stringify(doc));
    const log = gitSync(['log', '--format=%B', 'main'], target);
    assert.equal(log.split(`Profiles-Installation-Id: ${id}`).length - 1, 1, 'one commit');
  });

  test("the installer's consumer deleted, then deleted and recreated, while requests are queued: every request is processed once", async () => {
    const target = gitopsRepo(dir, 'recreated');
    const h = await stack.jetstream();
    // The consumer of the target repository's partition.
    const spec = INSTALL_CONSUMERS.partition(installPartition(`file://${target}`));
    const { stream, durable } = spec;
    if (ins.installers.length === 0) await ins.addInstaller();
    const submit = async (name: string) => {
      const r = await post(`${ins.api}/v1/installations`, {
        name,
        namespace: 'default',
        profile: { url: `file://${examples}`, tag: 'bitnami-nginx/v0.0.2' },
        target: { url: `file://${target}`, branch: 'main', path: name },
      });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      return r.body.id as string;
    };
    const committed = async (batch: string[]) => {
      for (const id of batch) {
        const doc = await waitFor(
          async () => {
            const r = await getJson(`${ins.api}/v1/installations/${id}`);
            return ['committed', 'failed'].includes(r.body.status) ? r.body : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 50, what: `installation ${id}` },
        );
        assert.equal(doc.status, 'committed', JSON.stringify(doc));
      }
    };
    const ids: string[] = [];
    // Deleted while requests wait and nobody declares it again: the installer must, by itself.
    const first: string[] = [];
    for (let i = 0; i < 8; i++) first.push(await submit(`first-${i}`));
    await h.jsm.consumers.delete(stream, durable);
    for (let i = 0; i < 4; i++) first.push(await submit(`late-${i}`));
    await committed(first);
    // Deleted and recreated by someone else (an operator, another replica) while requests wait.
    const second: string[] = [];
    for (let i = 0; i < 8; i++) second.push(await submit(`second-${i}`));
    await h.jsm.consumers.delete(stream, durable).catch(() => undefined);
    await sleep(100);
    await ensureConsumer(h.jsm, spec);
    for (let i = 0; i < 4; i++) second.push(await submit(`third-${i}`));
    await committed(second);
    ids.push(...first, ...second);
    const log = gitSync(['log', '--format=%B', 'main'], target);
    for (const id of ids) {
      assert.equal(log.split(`Profiles-Installation-Id: ${id}`).length - 1, 1, `one commit for ${id}`);
    }
    assert.equal(gitSync(['rev-list', '--count', 'main'], target).trim(), String(ids.length + 1));
  });
});
