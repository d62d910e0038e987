/**
 * A final install status survives Redis losing everything, on the real servers (Redis, NATS JetStream, git over
 * file://): the installer keeps each final status in a stream of its own beside Redis, and the API restores it
 * from there, still only to those who may read it (the requester, and those the write policy allows on the
 * target the kept copy names; the request itself is gone with Redis).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { installationKeys, normalizeRepoUrl, STREAMS, SUBJECTS } from '@profiles/shared';
import { buildApp } from '../services/api/src/app.ts';
import { Authenticator } from '../services/api/src/auth/authenticate.ts';
import { WritePolicy } from '../services/api/src/auth/policy.ts';
import { StaticTokens } from '../services/api/src/auth/static-tokens.ts';
import { getJson, startStack, testLogger, type Stack } from './harness/index.ts';
import * as installerHarness from './harness/installer.ts';

const { examplesRepo, gitopsRepo, gitSync, installerClient, startInstallerStack } = installerHarness;

const TOKENS = {
  alice: 'alice-token-0123456789abcdef',
  bob: 'bob-token-0123456789abcdef00',
  carol: 'carol-token-0123456789abcdef',
};
const as = (who: keyof typeof TOKENS) => ({ authorization: `Bearer ${TOKENS[who]}` });

describe('install status kept beside Redis', () => {
  let stack: Stack;
  let dir: string;
  let examples: string;
  let target: string;
  let ins: installerHarness.InstallerStack;
  let api: string;
  let close: () => Promise<unknown>;

  before(async () => {
    stack = await startStack();
    dir = await stack.tempDir('install-status-');
    examples = examplesRepo(dir);
    target = gitopsRepo(dir, 'kept');
    ins = await startInstallerStack(stack, examples, 1);
    // An API with tenants beside the harness's open one: alice installs, carol may write the same target
    // (so may read its installations), bob may write elsewhere only.
    const repo = `file://${target}`;
    const app = await buildApp({
      redis: ins.redis,
      redisPrefix: stack.prefix,
      log: testLogger('api-auth'),
      nats: await stack.jetstream(),
      auth: {
        authenticator: new Authenticator({
          anonymous: 'read',
          tokens: new StaticTokens([
            { token: TOKENS.alice, user: 'alice', groups: ['team-a'] },
            { token: TOKENS.bob, user: 'bob', groups: ['team-b'] },
            { token: TOKENS.carol, user: 'carol', groups: ['team-a'] },
          ]),
        }),
        defaultAccess: 'authenticated',
        policy: new WritePolicy({
          install: [
            { users: ['alice', 'carol'], repositories: [repo], unlisted: true },
            { users: ['bob'], repositories: ['file:///repos/team-b*'], unlisted: true },
          ],
        }),
      },
    });
    api = await app.listen({ host: '127.0.0.1', port: 0 });
    close = () => app.close();
  });
  after(async () => {
    await close?.();
    await ins?.close();
    await stack?.stop();
  });

  const status = (id: string, who?: keyof typeof TOKENS) =>
    getJson(`${api}/v1/installations/${id}`, who ? { headers: as(who) } : {});

  test('a committed install answers its status and commit after FLUSHALL, to its requester and the policy only', async () => {
    const request = {
      name: 'kept',
      namespace: 'default',
      profile: { url: `file://${examples}`, tag: 'bitnami-nginx/v0.0.2' },
      target: { url: `file://${target}`, branch: 'main', path: 'kept' },
    };
    const r = await installerClient(api).post('/v1/installations', request, as('alice'));
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const id = r.body.id as string;
    // Waited for on the harness's open API, which sees every installation.
    const done = await installerClient(ins.api).settle(id, 60_000);
    assert.equal(done.status, 'committed', JSON.stringify(done));
    assert.equal((await status(id, 'alice')).body.commit, done.commit, 'alice reads her installation');
    assert.equal(done.commit, gitSync(['rev-parse', 'main'], target).trim(), 'the commit is the branch head');

    // The kept copy is in its own stream, names the target without credentials, and is not a work-queue item.
    const { jsm } = await stack.jetstream();
    const kept = await jsm.streams.getMessage(STREAMS.installStatus.name, {
      last_by_subj: SUBJECTS.installStatus(id),
    });
    assert.ok(kept, 'the final status is kept in JetStream');
    const body = kept.json<{ doc: { status: string }; target: { url: string; path: string } }>();
    assert.equal(body.doc.status, 'committed');
    assert.deepEqual(body.target, { url: normalizeRepoUrl(`file://${target}`), path: 'kept' });
    assert.equal((await jsm.streams.info(STREAMS.installs.name)).state.messages, 0, 'the request was acked');

    await ins.redis.flushall();
    // Bob asks first: the status is restored, and still refused to him like a missing one.
    assert.equal((await status(id, 'bob')).status, 404);
    assert.equal((await status(id)).status, 404, 'anonymous readers see nothing either');
    const after = await status(id, 'alice');
    assert.equal(after.status, 200, JSON.stringify(after.body));
    assert.equal(after.body.status, 'committed');
    assert.equal(after.body.commit, done.commit, 'the same commit');
    assert.equal(after.body.requestedBy, 'alice');
    // Restored into Redis: the next read does not need JetStream.
    const restored = await ins.redis.get(installationKeys(stack.prefix).doc(id));
    assert.equal((JSON.parse(restored ?? '{}') as { commit?: string }).commit, done.commit);
    // The request is gone with Redis: carol, whom the policy allows on the target, is judged by the kept target.
    assert.equal(await ins.redis.get(installationKeys(stack.prefix).request(id)), null);
    const carol = await status(id, 'carol');
    assert.equal(carol.status, 200, JSON.stringify(carol.body));
    assert.equal(carol.body.commit, done.commit);
    assert.equal((await status(id, 'bob')).status, 404, 'bob still cannot read it once restored');
    // An id nothing was ever kept for is still not found.
    assert.equal((await status('00000000-0000-4000-8000-000000000000', 'alice')).status, 404);
  });
});
