/**
 * Kubernetes mode against a real kube-apiserver + etcd: ProfileCatalogSource CRs in, catalog and status out.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeEvent, EVENT_TYPES, makeEvent, STREAMS, SUBJECTS, type CloudEvent } from '@profiles/shared';
import { getJson, startStack, waitFor, type Stack } from './harness/index.ts';
import { startKube, type KubeServer } from './harness/kube.ts';
import { fixtureRepo } from './harness/git.ts';

const EXAMPLE = join(import.meta.dirname, '../examples/catalog-sources/nginx-catalog.yaml');

function inline(name: string, namespace: string, profiles: { name: string; tag: string }[]): string {
  return [
    'apiVersion: weave.works/v1alpha1',
    'kind: ProfileCatalogSource',
    `metadata: {name: ${name}, namespace: ${namespace}}`,
    'spec:',
    '  profiles:',
    ...profiles.map(
      (p) => `    - ${JSON.stringify({ name: p.name, tag: p.tag, description: `about ${p.name}` })}`,
    ),
  ].join('\n');
}

describe('kubernetes mode', () => {
  let stack: Stack;
  let kube: KubeServer;
  let api: string;
  let dir: string;
  let writes: () => number;
  let watcher: Awaited<ReturnType<Stack['kubeWatcher']>>;
  let ix: Awaited<ReturnType<Stack['indexer']>>;
  const startedAt = Date.now();

  const apply = async (yaml: string) => {
    const f = join(dir, `m-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(f, yaml);
    await kube.kubectl('apply', '-f', f);
  };
  const listed = async (catalog: string, profile: string) =>
    (await getJson(`${api}/v1/profiles/${encodeURIComponent(catalog)}/${profile}`)).status === 200;
  const pcs = async (ns: string, name: string) =>
    JSON.parse(await kube.kubectl('get', 'pcs', '-n', ns, name, '-o', 'json'));

  before(async () => {
    [stack, kube] = await Promise.all([startStack(), startKube()]);
    dir = await stack.tempDir('manifests-');
    await kube.kubectl('create', 'namespace', 'team-a');
    await kube.kubectl('create', 'namespace', 'team-b');
    ix = await stack.indexer();
    writes = () => ix.writer.writes;
    watcher = await stack.kubeWatcher(kube.kubeconfigPath, { watchTimeoutSeconds: 20 });
    api = (await stack.api()).url;
  });
  after(async () => {
    await stack?.stop();
    await kube?.stop();
  });

  test('the original inline example is served, and its status shows READY and PROFILES', async () => {
    await kube.kubectl('apply', '-f', EXAMPLE);
    await waitFor(() => listed('nginx-catalog', 'weaveworks-nginx'), { what: 'example served' });
    await waitFor(async () => (await pcs('default', 'nginx-catalog')).status?.profiles === 2, {
      what: 'status written',
    });
    const st = (await pcs('default', 'nginx-catalog')).status;
    const ready = st.conditions.find((c: any) => c.type === 'Ready');
    assert.equal(ready.status, 'True');
    assert.equal(st.observedGeneration, 1);
    assert.equal(st.versions, 3);
    const table = await kube.kubectl('get', 'profilecatalogsources', '-A');
    assert.match(table, /NAMESPACE\s+NAME\s+READY\s+PROFILES\s+AGE/);
    assert.match(table, /default\s+nginx-catalog\s+True\s+2\s+/);
  });

  test('a repositories source is scanned and reports scannedRepositories', async () => {
    const bare = await fixtureRepo(await stack.tempDir('repo-'));
    await apply(`apiVersion: weave.works/v1alpha1
kind: ProfileCatalogSource
metadata: {name: repo-catalog, namespace: default}
spec:
  repositories:
    - url: file://${bare}
`);
    await waitFor(async () => (await pcs('default', 'repo-catalog')).status?.versions === 7, {
      what: 'repository scanned',
      timeoutMs: 20_000,
    });
    const st = (await pcs('default', 'repo-catalog')).status;
    assert.equal(st.scannedRepositories[0].tags.length, 7);
    assert.ok(await listed('repo-catalog', 'weaveworks-nginx'));
  });

  test('an invalid entry: Ready=False naming it, the valid entries still served', async () => {
    // The CRD's schema already refuses a non-semver tag (as the original did); a name with a space passes it.
    await apply(
      inline('mixed', 'default', [
        { name: 'ok-profile', tag: 'v1.0.0' },
        { name: 'bad profile', tag: 'v1.0.0' },
      ]),
    );
    await waitFor(() => listed('mixed', 'ok-profile'), { what: 'valid entry served' });
    await waitFor(async () => (await pcs('default', 'mixed')).status?.conditions, { what: 'status' });
    const ready = (await pcs('default', 'mixed')).status.conditions.find((c: any) => c.type === 'Ready');
    assert.equal(ready.status, 'False');
    assert.match(
      ready.message,
      /spec\.profiles\[1\] \(bad profile v1\.0\.0\): name "bad profile" may hold only/,
    );
    assert.equal((await pcs('default', 'mixed')).status.profiles, 1);
  });

  test('one name in two namespaces: both served, separately', async () => {
    await apply(inline('platform', 'team-a', [{ name: 'alpha', tag: 'v1.0.0' }]));
    await apply(inline('platform', 'team-b', [{ name: 'beta', tag: 'v2.0.0' }]));
    await waitFor(() => listed('team-a/platform', 'alpha'), { what: 'team-a served' });
    await waitFor(() => listed('team-b/platform', 'beta'), { what: 'team-b served' });
    assert.equal(await listed('team-a/platform', 'beta'), false);
    assert.equal((await getJson(`${api}/v1/profiles/platform/alpha`)).status, 409);
  });

  test('deleting a source removes its profiles; an edit shows the new version', async () => {
    await apply(inline('short-lived', 'default', [{ name: 'tmp', tag: 'v1.0.0' }]));
    await waitFor(() => listed('short-lived', 'tmp'));
    await apply(inline('short-lived', 'default', [{ name: 'tmp', tag: 'v1.1.0' }]));
    await waitFor(
      async () => (await getJson(`${api}/v1/profiles/short-lived/tmp`)).body.item?.version === '1.1.0',
      { what: 'edit indexed' },
    );
    await kube.kubectl('delete', 'pcs', 'short-lived', '-n', 'default');
    await waitFor(async () => !(await listed('short-lived', 'tmp')), { what: 'profiles removed' });
  });

  test('two watcher replicas: each change is indexed once', async () => {
    const second = await stack.kubeWatcher(kube.kubeconfigPath, { watchTimeoutSeconds: 20 });
    await new Promise((r) => setTimeout(r, 500));
    const before = writes();
    await apply(inline('replicated', 'default', [{ name: 'rep', tag: 'v1.0.0' }]));
    await waitFor(() => listed('replicated', 'rep'));
    await apply(inline('replicated', 'default', [{ name: 'rep', tag: 'v1.0.1' }]));
    await waitFor(
      async () => (await getJson(`${api}/v1/profiles/replicated/rep`)).body.item?.version === '1.0.1',
    );
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(writes() - before, 2, 'two changes, two catalog writes');
    await second.stop();
  });

  test('watcher down while a source is deleted: gone after it starts again', async () => {
    await apply(inline('orphan', 'default', [{ name: 'orphan-profile', tag: 'v1.0.0' }]));
    await waitFor(() => listed('orphan', 'orphan-profile'));
    await watcher.stop();
    await kube.kubectl('delete', 'pcs', 'orphan', '-n', 'default');
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(await listed('orphan', 'orphan-profile'), 'nobody watching: still listed');
    watcher = await stack.kubeWatcher(kube.kubeconfigPath, { watchTimeoutSeconds: 20 });
    await waitFor(async () => !(await listed('orphan', 'orphan-profile')), {
      what: 'removed by the snapshot',
    });
    assert.ok(await listed('team-a/platform', 'alpha'), 'other namespaces untouched');
  });

  test('deploy/ renders with kustomize, passes server-side validation, and its RBAC is least privilege', async () => {
    const rendered = join(dir, 'deploy.yaml');
    await writeFile(rendered, await kube.kubectl('kustomize', join(import.meta.dirname, '../deploy')));
    // A dry run cannot create the namespace its other objects live in: create it first.
    await kube.kubectl('create', 'namespace', 'profiles-system');
    const dry = await kube.kubectl('apply', '--dry-run=server', '-f', rendered);
    assert.match(dry, /deployment.apps\/profiles-api created \(server dry run\)/);
    await kube.kubectl('apply', '-f', rendered);
    const can = async (sa: string, ...args: string[]) =>
      (
        await kube
          .kubectl('auth', 'can-i', ...args, `--as=system:serviceaccount:profiles-system:${sa}`)
          .catch((e: { stdout?: string }) => e.stdout ?? '')
      ).trim();
    assert.equal(await can('profiles-watcher', 'watch', 'profilecatalogsources.weave.works', '-A'), 'yes');
    assert.equal(
      await can(
        'profiles-watcher',
        'update',
        'profilecatalogsources.weave.works',
        '--subresource=status',
        '-n',
        'team-a',
      ),
      'yes',
    );
    assert.equal(
      await can('profiles-watcher', 'update', 'profilecatalogsources.weave.works', '-n', 'team-a'),
      'no',
    );
    assert.equal(await can('profiles-watcher', 'get', 'secrets', '-n', 'team-a'), 'no');
    assert.equal(await can('profiles-indexer', 'get', 'secrets', '-n', 'team-a'), 'yes');
    assert.equal(await can('profiles-indexer', 'list', 'secrets', '-n', 'team-a'), 'no');
    assert.equal(await can('profiles-installer', 'get', 'secrets', '-n', 'team-a'), 'yes');
    assert.equal(await can('profiles-installer', 'list', 'secrets', '-n', 'team-a'), 'no');
    assert.equal(await can('profiles-api', 'get', 'secrets', '-n', 'team-a'), 'no');
  });

  test('kube-apiserver restarted mid-run: the watcher reconnects and picks up a change', async () => {
    await kube.stopApiServer();
    await new Promise((r) => setTimeout(r, 1_000));
    await kube.startApiServer();
    await apply(inline('after-outage', 'default', [{ name: 'survivor', tag: 'v1.0.0' }]));
    await waitFor(() => listed('after-outage', 'survivor'), {
      what: 'change after the outage',
      timeoutMs: 30_000,
    });
    await waitFor(async () => (await pcs('default', 'after-outage')).status?.profiles === 1, {
      what: 'status after the outage',
      timeoutMs: 30_000,
    });
    // Status writes that failed while the server was away wait out their backoff (up to 30 s between tries),
    // then land: none is left pending.
    await settled(await stack.jetstream(), { timeoutMs: 90_000 }, watcher);
  });
  // Beyond the acceptance list: what several replicas can do wrong, checked on the real servers.
  const names = async () =>
    (
      (await getJson(`${api}/v1/profiles`)).body.items as {
        catalogSource: string;
        name: string;
        version: string;
      }[]
    ).map((i) => `${i.catalogSource}/${i.name}@${i.version}`);
  const ready = async (ns: string, name: string) =>
    ((await pcs(ns, name)).status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready') as
      { status: string } | undefined;
  const settled = async (
    js: Awaited<ReturnType<Stack['jetstream']>>,
    wait: { timeoutMs?: number },
    ...ws: { publisher: { backlog: number } }[]
  ) => {
    await waitFor(() => ws.every((w) => w.publisher.backlog === 0), { what: 'publishers drained', ...wait });
    await waitFor(
      async () => {
        const c = await js.jsm.consumers.info(STREAMS.sources.name, 'indexer');
        const s = await js.jsm.consumers.info(STREAMS.catalog.name, 'status-writer');
        return c.num_pending + c.num_ack_pending + s.num_pending + s.num_ack_pending === 0;
      },
      { what: 'indexer and status writer idle', ...wait },
    );
  };

  test('two replicas: each change is stored once in the stream and its status written once', async () => {
    const h = await stack.jetstream();
    const second = await stack.kubeWatcher(kube.kubeconfigPath, { watchTimeoutSeconds: 20 });
    try {
      await settled(h, {}, watcher, second);
      const seq0 = (await h.jsm.streams.info(STREAMS.sources.name)).state.last_seq;
      const status0 = watcher.statusWriter!.writes + second.statusWriter!.writes;
      await apply(inline('twice', 'default', [{ name: 'twice', tag: 'v1.0.0' }]));
      await waitFor(async () => (await ready('default', 'twice'))?.status === 'True', { what: 'indexed' });
      await apply(inline('twice', 'default', [{ name: 'twice', tag: 'v1.1.0' }]));
      await waitFor(async () => (await pcs('default', 'twice')).status?.observedGeneration === 2, {
        what: 'generation 2 written',
      });
      await new Promise((r) => setTimeout(r, 500)); // room for a duplicate to show up
      await settled(h, {}, watcher, second);
      assert.equal((await h.jsm.streams.info(STREAMS.sources.name)).state.last_seq - seq0, 2, 'two events');
      assert.equal(
        watcher.statusWriter!.writes + second.statusWriter!.writes - status0,
        2,
        'two status writes',
      );
    } finally {
      await second.stop();
    }
  });

  test('a duplicate result writes no status; status-only changes publish nothing', async () => {
    const h = await stack.jetstream();
    await settled(h, {}, watcher);
    const obj = await pcs('default', 'twice');
    const ref = { namespace: 'default', name: 'twice' };
    const status0 = watcher.statusWriter!.writes;
    const seq0 = (await h.jsm.streams.info(STREAMS.sources.name)).state.last_seq;
    // The result the indexer published for generation 2, published again (a redelivery, another replica's).
    const result = makeEvent(EVENT_TYPES.sourceIndexed, 'indexer', {
      ref,
      origin: 'kubernetes',
      uid: obj.metadata.uid,
      generation: 2,
      profiles: 1,
      versions: 1,
      entryErrors: [],
      message: obj.status.conditions.find((c: { type: string }) => c.type === 'Ready').message,
      ready: true,
      reason: 'Indexed',
    });
    await h.js.publish(SUBJECTS.catalogSource(ref), encodeEvent(result), { msgID: result.id });
    await kube.kubectl('label', 'pcs', 'twice', 'touched=yes');
    await new Promise((r) => setTimeout(r, 500));
    await settled(h, {}, watcher);
    assert.equal(watcher.statusWriter!.writes, status0, 'the same status is not written again');
    assert.equal(
      (await h.jsm.streams.info(STREAMS.sources.name)).state.last_seq,
      seq0,
      'a label publishes nothing',
    );
  });

  test("a slow replica's late events (older generation, earlier incarnation) change nothing", async () => {
    // What a replica cut off from NATS for longer than the 2-minute duplicate window would publish: ids
    // JetStream no longer remembers, stored after the newer events.
    const { js } = await stack.jetstream();
    const ref = { namespace: 'default', name: 'twice' };
    const upsert = (uid: string, generation: number, tag: string) => {
      const object = {
        apiVersion: 'weave.works/v1alpha1',
        kind: 'ProfileCatalogSource',
        metadata: { name: ref.name, namespace: ref.namespace },
        spec: { profiles: [{ name: 'twice', tag }] },
      };
      return makeEvent(EVENT_TYPES.sourceUpserted, 'watcher/kubernetes', {
        ref,
        origin: 'kubernetes',
        object,
        uid,
        generation,
      });
    };
    const late = async (ev: CloudEvent) => {
      const h0 = ix.handled();
      await js.publish(SUBJECTS.source(ref), encodeEvent(ev), { msgID: ev.id });
      await waitFor(() => ix.handled() > h0, { what: 'late event handled' });
    };
    const current = async () => (await names()).filter((x) => x.startsWith('twice/'));
    const first = await pcs('default', 'twice');
    assert.equal(first.metadata.generation, 2);
    const writes0 = writes();
    await late(upsert(first.metadata.uid, 1, 'v1.0.0'));
    const foreign = { ref, origin: 'kubernetes', uid: 'an-older-uid' };
    await late(makeEvent(EVENT_TYPES.sourceDeleted, 'watcher/kubernetes', foreign));
    assert.deepEqual(await current(), ['twice/twice@1.1.0'], 'older generation and foreign delete ignored');
    assert.equal(writes(), writes0);

    // Deleted and created again (a new uid): the first incarnation's late events must not touch it.
    await kube.kubectl('delete', 'pcs', 'twice', '-n', 'default');
    await waitFor(async () => (await current()).length === 0, { what: 'deleted' });
    await apply(inline('twice', 'default', [{ name: 'twice', tag: 'v3.0.0' }]));
    await waitFor(async () => (await ready('default', 'twice'))?.status === 'True', { what: 're-created' });
    assert.notEqual((await pcs('default', 'twice')).metadata.uid, first.metadata.uid);
    await late(upsert(first.metadata.uid, 9, 'v9.0.0'));
    const old = { ref, origin: 'kubernetes', uid: first.metadata.uid };
    await late(makeEvent(EVENT_TYPES.sourceDeleted, 'watcher/kubernetes', old));
    assert.deepEqual(await current(), ['twice/twice@3.0.0'], 'the first incarnation stays gone');
  });

  test("a lagging replica's snapshot, taken before sources were seen, removes none of them", async () => {
    const { js } = await stack.jetstream();
    const before = (await names()).sort();
    assert.ok(before.length > 3);
    const ev = makeEvent(EVENT_TYPES.sourcesSnapshot, 'watcher/kubernetes', {
      origin: 'kubernetes',
      refs: [],
    });
    ev.time = new Date(startedAt - 1_000).toISOString();
    const h0 = ix.handled();
    await js.publish(SUBJECTS.sourcesSnapshot('kubernetes'), encodeEvent(ev), { msgID: ev.id });
    await waitFor(() => ix.handled() > h0, { what: 'snapshot handled' });
    assert.deepEqual((await names()).sort(), before);
  });
});
