/**
 * Kubernetes mode end to end on a real kube-apiserver + etcd: ProfileCatalogSources applied with kubectl ->
 * watcher (list+watch) -> JetStream -> indexer -> Redis -> API, and the indexer's results written back to the
 * status subresource. One API server for the whole file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { encodeEvent, EVENT_TYPES, makeEvent, STREAMS, SUBJECTS, type CloudEvent } from '@profiles/shared';
import { getJson, startStack, testLogger, waitFor, type Stack } from './harness/index.ts';
import { startKube, type KubeServer } from './harness/kube.ts';
import { fixtureRepo } from './harness/git.ts';
import { start as startWatcher, type Watcher } from '../services/watcher/src/start.ts';

const root = join(import.meta.dirname, '..');

interface KubeWatcher extends Watcher {
  stop: () => Promise<void>;
}

describe('kubernetes mode (real kube-apiserver)', () => {
  let kube: KubeServer;
  let stack: Stack;
  let api: string;
  let dir: string;
  let repoUrl: string;
  let watcherA: KubeWatcher;
  let indexer: Awaited<ReturnType<Stack['indexer']>>;

  const startKubeWatcher = async (name: string): Promise<KubeWatcher> => {
    const h = await stack.jetstream();
    const kc = new KubeConfig();
    kc.loadFromFile(kube.kubeconfigPath);
    const w = await startWatcher({
      config: {
        watcherMode: 'kubernetes',
        watchDir: '',
        maxSourceBytes: 1024 * 1024,
        snapshotIntervalSeconds: 300,
        kubeWatchTimeoutSeconds: 10,
      },
      js: h.js,
      jsm: h.jsm,
      kc,
      log: testLogger(name),
    });
    let stopped = false;
    return {
      ...w,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await w.stop();
        await h.nc.close();
      },
    };
  };

  let n = 0;
  const apply = async (yaml: string) => {
    const f = join(dir, `m${n++}.yaml`);
    await writeFile(f, yaml);
    await kube.kubectl('apply', '-f', f);
  };
  const pcs = async (ns: string, name: string) =>
    JSON.parse(await kube.kubectl('get', 'profilecatalogsources', '-n', ns, name, '-o', 'json')) as {
      metadata: { generation: number; uid: string };
      status?: {
        observedGeneration?: number;
        profiles?: number;
        entryErrors?: { entry: string; reason: string }[];
        scannedRepositories?: { url: string; tags: string[] }[];
        conditions?: { type: string; status: string; reason: string; message: string }[];
      };
    };
  const ready = async (ns: string, name: string) =>
    (await pcs(ns, name)).status?.conditions?.find((c) => c.type === 'Ready');
  const names = async () =>
    (
      (await getJson(`${api}/v1/profiles`)).body.items as {
        catalogSource: string;
        name: string;
        version: string;
      }[]
    )
      .map((i) => `${i.catalogSource}/${i.name}@${i.version}`)
      .sort();
  const status = async (path: string) => (await getJson(`${api}/v1/profiles/${path}`)).status;

  const startedAt = Date.now();
  before(async () => {
    [kube, stack] = await Promise.all([startKube(), startStack()]);
    dir = await stack.tempDir('kube-manifests-');
    repoUrl = `file://${await fixtureRepo(await stack.tempDir('kube-git-'))}`;
    await kube.kubectl('create', 'namespace', 'team-a');
    await kube.kubectl('create', 'namespace', 'team-b');
    indexer = await stack.indexer();
    api = (await stack.api()).url;
    watcherA = await startKubeWatcher('watcher-a');
  });
  after(async () => {
    await watcherA?.stop();
    await stack?.stop();
    await kube?.stop();
  });

  test('the original example manifests (inline list, repositories) are served, with READY and PROFILES', async () => {
    // As in weaveworks/profiles' config/samples: an inline catalog and a catalog of repositories.
    await apply(`apiVersion: weave.works/v1alpha1
kind: ProfileCatalogSource
metadata:
  name: catalog-sample
spec:
  profiles:
    - name: nginx-1
      description: This installs nginx.
      tag: v0.1.0
      url: https://github.com/weaveworks/nginx-profile
      maintainer: weaveworks (https://github.com/weaveworks/profiles)
      prerequisites:
        - "kubernetes 1.19"
    - name: nginx-2
      description: This installs nginx.
      tag: v0.1.1
      catalogSource: catalog-sample
      url: https://github.com/weaveworks/nginx-profile
      maintainer: weaveworks (https://github.com/weaveworks/profiles)
`);
    await apply(`apiVersion: weave.works/v1alpha1
kind: ProfileCatalogSource
metadata:
  name: catalog-repos
spec:
  repositories:
    - url: ${repoUrl}
`);
    await waitFor(async () => (await status('catalog-sample/nginx-2/v0.1.1')) === 200, {
      what: 'inline indexed',
    });
    assert.equal(
      (await getJson(`${api}/v1/profiles/catalog-sample/nginx-1`)).body.item.prerequisites[0],
      'kubernetes 1.19',
    );
    await waitFor(async () => (await names()).some((x) => x.startsWith('catalog-repos/')), {
      what: 'repository scanned',
      timeoutMs: 30_000,
    });
    await waitFor(async () => (await ready('default', 'catalog-sample'))?.status === 'True', {
      what: 'Ready=True',
    });
    await waitFor(async () => (await ready('default', 'catalog-repos'))?.status === 'True', {
      what: 'repos Ready=True',
    });
    const s = await pcs('default', 'catalog-sample');
    assert.equal(s.status?.observedGeneration, s.metadata.generation);
    assert.equal(s.status?.profiles, 2);
    const repos = await pcs('default', 'catalog-repos');
    assert.equal(repos.status?.scannedRepositories?.[0]?.url, repoUrl);
    assert.ok((repos.status?.scannedRepositories?.[0]?.tags.length ?? 0) > 0, 'scanned tags listed');

    const table = await kube.kubectl('get', 'profilecatalogsources', '-A');
    const [header, ...rows] = table.trim().split('\n');
    assert.match(header!, /^NAMESPACE\s+NAME\s+READY\s+PROFILES\s+AGE$/);
    assert.match(
      rows.find((r) => r.includes('catalog-sample'))!,
      /^default\s+catalog-sample\s+True\s+2\s+\S+$/,
    );
  });

  test('an invalid entry: Ready=False naming the entry, the valid entries served; fixing it clears it', async () => {
    const manifest = (broken: string) => `apiVersion: weave.works/v1alpha1
kind: ProfileCatalogSource
metadata:
  name: mixed
  namespace: team-a
spec:
  profiles:
    - name: good
      tag: v1.0.0
    - name: broken
${broken}
`;
    // The CRD's schema already refuses a non-semver tag, so the invalid entry is one the schema lets through.
    await apply(manifest('      description: no tag'));
    await waitFor(async () => (await ready('team-a', 'mixed'))?.status === 'False', { what: 'Ready=False' });
    const s = await pcs('team-a', 'mixed');
    const r = s.status!.conditions!.find((c) => c.type === 'Ready')!;
    assert.equal(r.reason, 'InvalidEntries');
    assert.match(r.message, /spec\.profiles\[1\] \(broken\): tag is required/);
    assert.deepEqual(s.status!.entryErrors, [
      { entry: 'spec.profiles[1] (broken)', reason: 'tag is required' },
    ]);
    assert.equal(s.status!.conditions!.find((c) => c.type === 'Stalled')!.status, 'True');
    assert.equal(await status('mixed/good/v1.0.0'), 200, 'the valid entry is served');
    await apply(manifest('      tag: v2.0.0'));
    await waitFor(async () => (await ready('team-a', 'mixed'))?.status === 'True', { what: 'fixed' });
    assert.equal(await status('mixed/broken/v2.0.0'), 200);
    assert.deepEqual((await pcs('team-a', 'mixed')).status!.entryErrors, []);
  });

  test('two sources with one name in two namespaces are served separately; deleting one removes its profiles', async () => {
    const src = (ns: string, profile: string) => `apiVersion: weave.works/v1alpha1
kind: ProfileCatalogSource
metadata:
  name: shared
  namespace: ${ns}
spec:
  profiles:
    - name: ${profile}
      tag: v1.0.0
`;
    await apply(src('team-a', 'alpha'));
    await apply(src('team-b', 'beta'));
    await waitFor(async () => (await status('team-a%2Fshared/alpha')) === 200, { what: 'team-a/shared' });
    await waitFor(async () => (await status('team-b%2Fshared/beta')) === 200, { what: 'team-b/shared' });
    assert.equal(await status('team-a%2Fshared/beta'), 404);
    assert.equal(await status('shared/alpha'), 409, 'the bare name is ambiguous');
    await kube.kubectl('delete', 'profilecatalogsource', '-n', 'team-b', 'shared');
    await waitFor(async () => (await status('team-b%2Fshared/beta')) === 404, {
      what: 'team-b/shared removed',
    });
    assert.equal(await status('shared/alpha'), 200, 'the bare name resolves again');
  });

  test('a source deleted while the watcher is stopped is gone once it starts again', async () => {
    await apply(`apiVersion: weave.works/v1alpha1
kind: ProfileCatalogSource
metadata:
  name: ephemeral
spec:
  profiles:
    - name: temp
      tag: v1.0.0
`);
    await waitFor(async () => (await status('ephemeral/temp')) === 200, { what: 'ephemeral indexed' });
    await watcherA.stop();
    await kube.kubectl('delete', 'profilecatalogsource', 'ephemeral');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await status('ephemeral/temp'), 200, 'nobody watched the deletion yet');
    watcherA = await startKubeWatcher('watcher-a2');
    await waitFor(async () => (await status('ephemeral/temp')) === 404, {
      what: 'ephemeral removed by snapshot',
    });
  });

  test('two watcher replicas: each change is stored once, indexed once and its status written once', async () => {
    const watcherB = await startKubeWatcher('watcher-b');
    try {
      const { jsm } = await stack.jetstream();
      await watcherA.publisher.flush();
      await watcherB.publisher.flush();
      const seq0 = (await jsm.streams.info(STREAMS.sources.name)).state.last_seq;
      const writes0 = indexer.writer.writes;
      const status0 = watcherA.statusWriter!.writes + watcherB.statusWriter!.writes;
      await apply(`apiVersion: weave.works/v1alpha1
kind: ProfileCatalogSource
metadata:
  name: replicated
spec:
  profiles:
    - name: twice
      tag: v1.0.0
`);
      await waitFor(async () => (await ready('default', 'replicated'))?.status === 'True', {
        what: 'replicated indexed and status written',
      });
      await apply(`apiVersion: weave.works/v1alpha1
kind: ProfileCatalogSource
metadata:
  name: replicated
spec:
  profiles:
    - name: twice
      tag: v1.1.0
`);
      await waitFor(async () => (await pcs('default', 'replicated')).status?.observedGeneration === 2, {
        what: 'generation 2 indexed',
      });
      await waitFor(() => watcherA.publisher.backlog + watcherB.publisher.backlog === 0);
      await new Promise((r) => setTimeout(r, 500)); // room for a duplicate to show up
      assert.equal(
        (await jsm.streams.info(STREAMS.sources.name)).state.last_seq - seq0,
        2,
        'two events stored',
      );
      assert.equal(indexer.writer.writes - writes0, 2, 'two catalog writes');
      assert.equal(
        watcherA.statusWriter!.writes + watcherB.statusWriter!.writes - status0,
        2,
        'two status writes',
      );
      assert.equal(
        watcherA.publisher.published + watcherB.publisher.published >= 4,
        true,
        'both replicas published',
      );
      assert.deepEqual(
        (await names()).filter((x) => x.startsWith('replicated/')),
        ['replicated/twice@1.1.0'],
      );
    } finally {
      await watcherB.stop();
    }
  });

  test("a slow replica's late events (older generation, earlier incarnation) change nothing", async () => {
    // What a replica cut off from NATS for longer than the 2-minute duplicate window would publish: the same
    // ids JetStream no longer remembers, stored after the newer events.
    const { js } = await stack.jetstream();
    const ref = { namespace: 'default', name: 'replicated' };
    const upsert = (uid: string, generation: number, tag: string) => {
      const metadata = { name: ref.name, namespace: ref.namespace, uid, generation };
      const object = {
        apiVersion: 'weave.works/v1alpha1',
        kind: 'ProfileCatalogSource',
        metadata,
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
    const late = async (ev: CloudEvent, n: number) => {
      const h0 = indexer.handled();
      await js.publish(SUBJECTS.source(ref), encodeEvent(ev), { msgID: ev.id });
      await waitFor(() => indexer.handled() >= h0 + n, { what: 'late event handled' });
    };
    const current = async () => (await names()).filter((x) => x.startsWith('replicated/'));
    const first = await pcs('default', 'replicated');
    assert.equal(first.metadata.generation, 2);
    const writes0 = indexer.writer.writes;
    await late(upsert(first.metadata.uid, 1, 'v1.0.0'), 1);
    await late(
      makeEvent(EVENT_TYPES.sourceDeleted, 'watcher/kubernetes', {
        ref,
        origin: 'kubernetes',
        uid: 'an-older-uid',
      }),
      1,
    );
    assert.deepEqual(
      await current(),
      ['replicated/twice@1.1.0'],
      'older generation and foreign delete ignored',
    );
    assert.equal(indexer.writer.writes, writes0);

    // Deleted and created again: a new uid. A late upsert of the first incarnation must not come back.
    await kube.kubectl('delete', 'profilecatalogsource', 'replicated');
    await waitFor(async () => (await current()).length === 0, { what: 'replicated deleted' });
    await apply(`apiVersion: weave.works/v1alpha1
kind: ProfileCatalogSource
metadata:
  name: replicated
spec:
  profiles:
    - name: twice
      tag: v3.0.0
`);
    await waitFor(async () => (await ready('default', 'replicated'))?.status === 'True', {
      what: 're-created',
    });
    const second = await pcs('default', 'replicated');
    assert.notEqual(second.metadata.uid, first.metadata.uid);
    await late(upsert(first.metadata.uid, 9, 'v9.0.0'), 1);
    await late(
      makeEvent(EVENT_TYPES.sourceDeleted, 'watcher/kubernetes', {
        ref,
        origin: 'kubernetes',
        uid: first.metadata.uid,
      }),
      1,
    );
    assert.deepEqual(await current(), ['replicated/twice@3.0.0'], 'the first incarnation stays gone');
    assert.equal((await pcs('default', 'replicated')).status?.profiles, 1);
  });

  test("a lagging replica's snapshot, taken before sources were seen, removes none of them", async () => {
    const { js } = await stack.jetstream();
    const before = await names();
    assert.ok(before.length > 3);
    const ev = makeEvent(EVENT_TYPES.sourcesSnapshot, 'watcher/kubernetes', {
      origin: 'kubernetes',
      refs: [],
    });
    ev.time = new Date(startedAt - 1_000).toISOString();
    const h0 = indexer.handled();
    await js.publish(SUBJECTS.sourcesSnapshot('kubernetes'), encodeEvent(ev), { msgID: ev.id });
    await waitFor(() => indexer.handled() > h0, { what: 'snapshot handled' });
    assert.deepEqual(await names(), before);
  });

  test('status-only changes publish nothing', async () => {
    const { jsm } = await stack.jetstream();
    await watcherA.publisher.flush();
    const seq0 = (await jsm.streams.info(STREAMS.sources.name)).state.last_seq;
    await kube.kubectl('label', 'profilecatalogsource', 'catalog-sample', 'touched=yes');
    await kube.kubectl(
      'patch',
      'profilecatalogsource',
      'catalog-sample',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"versions":99}}',
    );
    await new Promise((r) => setTimeout(r, 500));
    await watcherA.publisher.flush();
    assert.equal((await jsm.streams.info(STREAMS.sources.name)).state.last_seq, seq0);
  });

  test('the kube-apiserver restarts: the watcher reconnects and changes made meanwhile are picked up', async () => {
    await kube.stopApiServer();
    await new Promise((r) => setTimeout(r, 1_000)); // the watch breaks and the watcher backs off
    await kube.startApiServer();
    // Made before the watcher is back (it is still backing off or resuming its watch).
    await apply(`apiVersion: weave.works/v1alpha1
kind: ProfileCatalogSource
metadata:
  name: after-outage
spec:
  profiles:
    - name: survivor
      tag: v1.0.0
`);
    await kube.kubectl('delete', 'profilecatalogsource', '-n', 'team-a', 'shared');
    await waitFor(async () => (await status('after-outage/survivor')) === 200, {
      what: 'created during the outage',
      timeoutMs: 30_000,
    });
    await waitFor(async () => (await status('team-a%2Fshared/alpha')) === 404, {
      what: 'deleted during the outage',
      timeoutMs: 30_000,
    });
    await waitFor(async () => (await ready('default', 'after-outage'))?.status === 'True', {
      what: 'status written',
    });
  });

  test('the kustomize base renders, and its RBAC grants each service only what it needs', async () => {
    const rendered = await kube.kubectl('kustomize', join(root, 'deploy'));
    for (const s of ['watcher', 'indexer', 'api', 'installer'])
      assert.match(rendered, new RegExp(`name: profiles-${s}\\n`));
    await kube.kubectl('apply', '--server-side', '--force-conflicts', '-k', join(root, 'deploy'));
    const can = async (sa: string, ...args: string[]) =>
      (
        await kube
          .kubectl('auth', 'can-i', `--as=system:serviceaccount:profiles-system:profiles-${sa}`, ...args)
          .catch((e: { stdout?: string }) => e.stdout ?? '')
      ).trim();
    assert.equal(await can('watcher', 'list', 'profilecatalogsources.weave.works', '-A'), 'yes');
    assert.equal(await can('watcher', 'watch', 'profilecatalogsources.weave.works', '-n', 'team-a'), 'yes');
    assert.equal(
      await can(
        'watcher',
        'patch',
        'profilecatalogsources.weave.works',
        '--subresource=status',
        '-n',
        'team-a',
      ),
      'yes',
    );
    assert.equal(await can('watcher', 'patch', 'profilecatalogsources.weave.works', '-n', 'team-a'), 'no');
    assert.equal(await can('watcher', 'get', 'secrets', '-n', 'team-a'), 'no');
    assert.equal(await can('indexer', 'get', 'secrets', '-n', 'team-a'), 'yes');
    assert.equal(await can('indexer', 'list', 'secrets', '-n', 'team-a'), 'no');
    assert.equal(await can('api', 'list', 'profilecatalogsources.weave.works', '-A'), 'no');
    assert.equal(await can('installer', 'get', 'secrets', '-A'), 'no');
  });
});
