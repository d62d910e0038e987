/**
 * Kubernetes mode against a real kube-apiserver with RBAC on: a service account's token is accepted through
 * TokenReview, and in RBAC mode the caller sees a catalog source exactly when it may `get` it; a RoleBinding
 * created and deleted changes what the API answers within 1 s. An unknown token is a 401.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogKeys, type CatalogEntry } from '@profiles/shared';
import { CatalogWriter } from '../services/indexer/src/catalog-writer.ts';
import { Authenticator } from '../services/api/src/auth/authenticate.ts';
import { KubeAccessReviewer, KubeTokenReviewer, kubeConfig } from '../services/api/src/auth/kubernetes.ts';
import { WritePolicy } from '../services/api/src/auth/policy.ts';
import { getJson, startStack, testLogger, waitFor, type Stack } from './harness/index.ts';
import { startKube, type KubeServer } from './harness/kube.ts';

const entry = (ns: string, name: string): CatalogEntry => ({
  tag: `${name}/v1.0.0`,
  catalogSource: 'apps',
  url: '',
  name,
  description: `${name} of ${ns}`,
  maintainer: ns,
  prerequisites: [],
  version: '1.0.0',
  catalogNamespace: ns,
  origin: 'inline',
  indexedAt: new Date(0).toISOString(),
});

describe('kubernetes authentication and RBAC visibility', () => {
  let kube: KubeServer;
  let stack: Stack;
  let api: string;
  let token: string;

  before(async () => {
    [kube, stack] = await Promise.all([startKube(), startStack()]);
    const writer = new CatalogWriter({
      redis: stack.client,
      keys: catalogKeys(stack.prefix),
      log: testLogger('w'),
    });
    let seq = 0;
    for (const ns of ['team-a', 'team-b'])
      await writer.upsert({
        ref: { namespace: ns, name: 'apps' },
        seq: ++seq,
        origin: 'test',
        specHash: String(seq),
        entries: [entry(ns, `${ns}-profile`)],
        access: 'null',
        status: { ready: true, reason: 'Indexed', message: '', profiles: 1, versions: 1, entryErrors: [] },
      });
    for (const ns of ['team-a', 'team-b']) await kube.kubectl('create', 'namespace', ns);
    await kube.kubectl('create', 'serviceaccount', 'reader', '-n', 'team-a');
    await kube.kubectl(
      'create',
      'role',
      'catalog-reader',
      '-n',
      'team-a',
      '--verb=get',
      '--resource=profilecatalogsources.weave.works',
    );
    token = (await kube.kubectl('create', 'token', 'reader', '-n', 'team-a')).trim();
    const kc = kubeConfig(kube.kubeconfigPath);
    api = (
      await stack.api({
        auth: {
          authenticator: new Authenticator({ anonymous: 'off', kubernetes: new KubeTokenReviewer(kc) }),
          defaultAccess: 'authenticated',
          policy: new WritePolicy(),
          rbac: new KubeAccessReviewer(kc),
        },
      })
    ).url;
  });
  after(async () => {
    await stack?.stop();
    await kube?.stop();
  });

  const sources = async () => {
    const r = await getJson(`${api}/v1/sources`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return (r.body.items as { namespace: string; name: string }[]).map((s) => `${s.namespace}/${s.name}`);
  };

  test("a service account's token is accepted; it sees only what RBAC lets it get, grant and revoke within 1 s", async () => {
    assert.deepEqual(await sources(), [], 'no RoleBinding yet: nothing visible');
    const hidden = await getJson(`${api}/v1/profiles/team-a%2Fapps/team-a-profile`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(hidden.status, 404);

    let t0 = Date.now();
    await kube.kubectl(
      'create',
      'rolebinding',
      'reader-can-see',
      '-n',
      'team-a',
      '--role=catalog-reader',
      '--serviceaccount=team-a:reader',
    );
    await waitFor(async () => (await sources()).join() === 'team-a/apps', {
      what: 'the grant',
      timeoutMs: 5_000,
      intervalMs: 20,
    });
    const grantMs = Date.now() - t0;
    const search = await getJson(`${api}/v1/search?q=profile`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.deepEqual(
      search.body.items.map((h: { catalog: string }) => h.catalog),
      ['team-a/apps'],
    );

    t0 = Date.now();
    await kube.kubectl('delete', 'rolebinding', 'reader-can-see', '-n', 'team-a');
    await waitFor(async () => (await sources()).length === 0, {
      what: 'the revoke',
      timeoutMs: 5_000,
      intervalMs: 20,
    });
    const revokeMs = Date.now() - t0;
    assert.ok(grantMs < 1000, `grant took ${grantMs} ms`);
    assert.ok(revokeMs < 1000, `revoke took ${revokeMs} ms`);
  });

  test('a token the cluster does not know is refused', async () => {
    const r = await getJson(`${api}/v1/sources`, {
      headers: { authorization: 'Bearer not-a-cluster-token' },
    });
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'UNAUTHORIZED');
  });
});
