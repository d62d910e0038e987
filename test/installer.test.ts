/**
 * Installer end to end on real parts: API -> Redis + JetStream -> installers -> git bare repositories over
 * file://. The profile repository is the profiles-examples fixture; nested profiles' GitHub URL is rewritten to it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseYaml, parseYamlDocuments, SUBJECTS } from '@profiles/shared';
import { FluxValidator } from '../services/installer/src/flux-schemas.ts';
import { getJson, startStack, waitFor, type Stack } from './harness/index.ts';
import {
  examplesRepo,
  gitopsRepo,
  gitSync,
  startInstallerStack,
  startPrStandIn,
  type InstallerStack,
  type PrStandIn,
} from './harness/installer.ts';

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  getJson(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

const FINAL = ['committed', 'pr-opened', 'failed', 'rendered'];

describe('installer', () => {
  let stack: Stack;
  let dir: string;
  let examples: string;
  let ins: InstallerStack;
  let validator: FluxValidator;

  before(async () => {
    stack = await startStack();
    dir = await stack.tempDir('installer-');
    examples = examplesRepo(dir);
    ins = await startInstallerStack(stack, examples, 2);
    validator = await FluxValidator.load();
  });
  after(async () => {
    await ins?.close();
    await stack?.stop();
  });

  const install = async (body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const r = await post(`${ins.api}/v1/installations`, body, headers);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body as { id: string; status: string };
  };
  const settle = async (id: string, timeoutMs = 30_000) =>
    waitFor(
      async () => {
        const r = await getJson(`${ins.api}/v1/installations/${id}`);
        return FINAL.includes(r.body.status) ? r.body : undefined;
      },
      { timeoutMs, what: `installation ${id} to finish` },
    );
  const show = (repo: string, path: string, ref = 'main') => gitSync(['show', `${ref}:${path}`], repo);
  const tree = (repo: string, ref = 'main') => gitSync(['ls-tree', '-r', '--name-only', ref], repo).split('\n').filter(Boolean);
  const objectsIn = (repo: string, prefix: string) =>
    tree(repo)
      .filter((f) => f.startsWith(prefix) && /(kustomize-flux|HelmRelease|HelmRepository|ConfigMap)\.yaml$/.test(f))
      .flatMap((f) => parseYamlDocuments(show(repo, f)).map((o) => ({ file: f, obj: o as Record<string, any> })));

  test('weaveworks-nginx v0.1.1: one commit with the nested chart, kustomize, remote charts and dependsOn', async () => {
    const target = gitopsRepo(dir, 'acceptance');
    const { id, status } = await install({
      name: 'pprof',
      namespace: 'default',
      profile: { url: `file://${examples}`, tag: 'weaveworks-nginx/v0.1.1' },
      target: { url: `file://${target}`, branch: 'main', path: 'clusters/dev' },
      values: { 'nginx-chart': { replicaCount: 2 } },
      mode: 'commit',
    });
    assert.equal(status, 'queued');
    const doc = await settle(id);
    assert.equal(doc.status, 'committed', doc.reason);
    assert.equal(gitSync(['rev-list', '--count', 'main'], target).trim(), '2', 'exactly one commit on top of the seed');
    assert.equal(gitSync(['rev-parse', 'main'], target).trim(), doc.commit);
    const msg = gitSync(['log', '-1', '--format=%B', 'main'], target);
    assert.match(msg, /weaveworks-nginx 0\.1\.1/);
    assert.match(msg, new RegExp(`Profiles-Installation-Id: ${id}`));

    const base = 'clusters/dev/pprof';
    const files = tree(target);
    assert.ok(files.includes(`${base}/profile-installation.yaml`));
    // The nested bitnami-nginx local chart, copied into the GitOps repository, and its HelmRelease from git.
    assert.ok(files.includes(`${base}/artifacts/nested-profile/nginx-server/nginx/chart/Chart.yaml`));
    const nestedHr = parseYaml(show(target, `${base}/artifacts/nested-profile/nginx-server/helm-chart/HelmRelease.yaml`)) as any;
    assert.equal(nestedHr.apiVersion, 'helm.toolkit.fluxcd.io/v2');
    assert.equal(nestedHr.spec.chart.spec.sourceRef.kind, 'GitRepository');
    assert.equal(nestedHr.spec.chart.spec.chart, `./${base}/artifacts/nested-profile/nginx-server/nginx/chart`);
    const nestedCm = parseYaml(show(target, `${base}/artifacts/nested-profile/nginx-server/helm-chart/ConfigMap.yaml`)) as any;
    assert.deepEqual(parseYaml(nestedCm.data['default.yaml']), { replicaCount: 3 });
    // The kustomize deployment.
    assert.match(show(target, `${base}/artifacts/nginx-deployment/nginx/deployment/deployment.yaml`), /kind: Deployment/);
    // Both remote charts: HelmRepository + HelmRelease, defaults first, user values after.
    for (const [art, chart, defaults] of [
      ['nginx-chart', 'nginx', { service: { type: 'ClusterIP' } }],
      ['dependon-chart', 'redis', { master: { persistence: { enabled: false } }, replica: { replicaCount: 0 } }],
    ] as const) {
      const repo = parseYaml(show(target, `${base}/artifacts/${art}/helm-chart/HelmRepository.yaml`)) as any;
      assert.equal(repo.apiVersion, 'source.toolkit.fluxcd.io/v1');
      assert.equal(repo.spec.url, 'https://charts.bitnami.com/bitnami');
      const hr = parseYaml(show(target, `${base}/artifacts/${art}/helm-chart/HelmRelease.yaml`)) as any;
      assert.equal(hr.spec.chart.spec.chart, chart);
      assert.equal(hr.spec.chart.spec.sourceRef.name, repo.metadata.name);
      const cm = parseYaml(show(target, `${base}/artifacts/${art}/helm-chart/ConfigMap.yaml`)) as any;
      assert.deepEqual(parseYaml(cm.data['default.yaml']), defaults);
      assert.deepEqual(hr.spec.valuesFrom, [{ kind: 'ConfigMap', name: cm.metadata.name, valuesKey: 'default.yaml' }]);
      if (art === 'nginx-chart') assert.deepEqual(hr.spec.values, { replicaCount: 2 });
    }
    // dependon-chart's wrapper depends on the wrappers of the three others.
    const wrappers = objectsIn(target, base).filter((o) => o.obj.kind === 'Kustomization');
    assert.equal(wrappers.length, 4);
    const dep = wrappers.find((w) => w.file.includes('/dependon-chart/'))!;
    const others = wrappers.filter((w) => w !== dep).map((w) => w.obj.metadata.name).sort();
    assert.deepEqual(dep.obj.spec.dependsOn.map((x: { name: string }) => x.name).sort(), others);
    assert.equal(dep.obj.apiVersion, 'kustomize.toolkit.fluxcd.io/v1');
    // Every generated object validates against the Flux CRD schemas.
    const all = objectsIn(target, base);
    assert.ok(all.length >= 10);
    for (const o of all) assert.deepEqual(validator.validate(o.file, o.obj), [], o.file);
    assert.deepEqual(doc.files.sort(), files.filter((f) => f.startsWith(base)).sort());
  });
});
