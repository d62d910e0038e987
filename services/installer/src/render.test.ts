import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseYaml } from '@profiles/shared';
import { FluxValidator } from './flux-schemas.ts';
import { renderInstallation } from './render.ts';
import type { ResolvedProfile } from './resolve-tree.ts';

let validator: FluxValidator;
before(async () => {
  validator = await FluxValidator.load();
});

const profileWithChart = (url: string): ResolvedProfile => ({
  name: 'podinfo',
  version: '1.0.0',
  url: 'https://git.example.com/profiles.git',
  ref: { tag: 'podinfo/v1.0.0' },
  path: 'podinfo',
  commit: 'c0ffee',
  artifacts: [
    {
      name: 'podinfo',
      kind: 'chart',
      def: { name: 'podinfo', chart: { url, name: 'podinfo', version: '6.7.x' } },
      dependsOn: [],
    },
  ],
});

const request = {
  id: '00000000-0000-4000-8000-000000000001',
  name: 'web',
  namespace: 'apps',
  target: { url: 'https://git.example.com/gitops.git', branch: 'main', path: 'clusters/dev' },
  values: { podinfo: { replicaCount: 2 } },
  profile: { url: 'https://git.example.com/profiles.git', tag: 'podinfo/v1.0.0' },
};

const objectOf = (files: Map<string, Buffer>, file: string) =>
  parseYaml(files.get(`clusters/dev/web/artifacts/podinfo/helm-chart/${file}`)!.toString()) as Record<
    string,
    any
  >;

test('a chart from an OCI registry renders a HelmRepository of type oci that passes the Flux schemas', () => {
  const out = renderInstallation(profileWithChart('oci://ghcr.io/stefanprodan/charts'), request, validator);
  assert.deepEqual(out.findings, []);
  const repo = objectOf(out.files, 'HelmRepository.yaml');
  assert.equal(repo.kind, 'HelmRepository');
  assert.deepEqual(repo.spec, { interval: '10m', url: 'oci://ghcr.io/stefanprodan/charts', type: 'oci' });
  const release = objectOf(out.files, 'HelmRelease.yaml');
  assert.deepEqual(release.spec.chart.spec, {
    chart: 'podinfo',
    version: '6.7.x',
    sourceRef: { kind: 'HelmRepository', name: repo.metadata.name, namespace: 'apps' },
    interval: '10m',
  });
  assert.deepEqual(release.spec.values, { replicaCount: 2 });
});

test('a chart from an https Helm repository keeps the default repository type', () => {
  const out = renderInstallation(
    profileWithChart('https://stefanprodan.github.io/podinfo'),
    request,
    validator,
  );
  assert.deepEqual(out.findings, []);
  assert.equal(objectOf(out.files, 'HelmRepository.yaml').spec.type, undefined);
});

test('the Flux schemas refuse an OCI repository whose type is not one Flux knows', () => {
  const findings = validator.validate('HelmRepository.yaml', {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'HelmRepository',
    metadata: { name: 'r', namespace: 'apps' },
    spec: { interval: '10m', url: 'oci://ghcr.io/charts', type: 'docker' },
  });
  assert.ok(findings.length > 0 && /type/.test(JSON.stringify(findings)), JSON.stringify(findings));
});
