/**
 * Kubernetes mode against a real kube-apiserver + etcd: ProfileCatalogSource CRs in, catalog and status out.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
  let watcher: { stop: () => Promise<void> };

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
    const ix = await stack.indexer();
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
  });
});
