import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkProfileDefinition } from './profile-definition.ts';
import { parseYaml } from './yaml.ts';

const nginx = `apiVersion: weave.works/v1alpha1
kind: ProfileDefinition
metadata: {name: weaveworks-nginx}
spec:
  description: Profile for deploying nginx
  maintainer: weaveworks
  prerequisites: ["kubernetes 1.19"]
  artifacts:
    - name: nested-profile
      profile: {source: {url: https://github.com/weaveworks/profiles-examples, tag: bitnami-nginx/v0.0.2}}
    - name: nginx-deployment
      kustomize: {path: nginx/deployment}
    - name: nginx-chart
      chart: {url: https://charts.bitnami.com/bitnami, name: nginx, version: "9.3.0", defaultValues: "a: 1"}
    - name: dependon-chart
      chart: {url: https://charts.bitnami.com/bitnami, name: redis, version: "14.6.1"}
      dependsOn: [{name: nginx-deployment}, {name: nginx-chart}, {name: nested-profile}]
`;

test('the example profile normalises into typed artifacts', () => {
  const r = checkProfileDefinition(parseYaml(nginx));
  assert.ok(r.ok);
  assert.deepEqual(
    r.profile.artifacts.map((a) => a.kind),
    ['profile', 'kustomize', 'chart', 'chart'],
  );
  assert.equal(r.profile.artifacts[0]!.profile!.source.tag, 'bitnami-nginx/v0.0.2');
  assert.deepEqual(r.profile.artifacts[3]!.dependsOn, ['nginx-deployment', 'nginx-chart', 'nested-profile']);
});

test('bad definitions are refused with a reason naming the artifact', () => {
  const base = parseYaml(nginx) as any;
  const cases: [(d: any) => void, RegExp][] = [
    [(d) => (d.kind = 'Other'), /kind/],
    [(d) => (d.spec.artifacts[1].kustomize.path = '../../etc'), /escapes/],
    [(d) => (d.spec.artifacts[2].chart = { version: '1' }), /path, or url and name/],
    [(d) => (d.spec.artifacts[3].dependsOn = [{ name: 'ghost' }]), /ghost/],
    [(d) => (d.spec.artifacts[1].name = 'nginx-chart'), /used twice/],
    [(d) => (d.spec.artifacts[1].chart = { path: 'x' }), /exactly one/],
  ];
  for (const [mutate, re] of cases) {
    const d = structuredClone(base);
    mutate(d);
    const r = checkProfileDefinition(d);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.reason, re);
  }
});

test('the earlier profiles.fluxcd.io/v1alpha1 Profile format is read too', () => {
  const legacy = parseYaml(`apiVersion: profiles.fluxcd.io/v1alpha1
kind: Profile
metadata: {name: nested-nginx-1}
spec:
  description: Profile for deploying local nginx chart
  artifacts:
    - {name: nginx-server, path: nginx/chart, kind: HelmChart}
    - name: nested-nginx-2
      kind: Profile
      profile: {url: https://github.com/weaveworks/profiles-examples, version: nested-nginx-2/v0.0.1}
`);
  const r = checkProfileDefinition(legacy);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  assert.deepEqual(r.profile.artifacts[0]!.chart, { path: 'nginx/chart' });
  assert.deepEqual(r.profile.artifacts[1]!.profile!.source, {
    url: 'https://github.com/weaveworks/profiles-examples',
    tag: 'nested-nginx-2/v0.0.1',
  });
});
