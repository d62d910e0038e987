import { posix } from 'node:path';
import { toYaml, type InstallRequest } from '@profiles/shared';
import { DEFAULT_NAME_LIMIT, NAME_LIMITS } from './flux-schemas.ts';
import type { LayoutRules } from './layouts.ts';
import type { NameAllocator } from './names.ts';
import type { ResolvedArtifact } from './resolve-tree.ts';

export const INTERVAL = '10m';

/** Where a rendering writes: files and the objects in them (kept for validation and name checks). */
export interface RenderSink {
  req: Pick<InstallRequest, 'name' | 'namespace' | 'values' | 'valuesFrom' | 'patches'>;
  flux: { name: string; namespace: string };
  names: NameAllocator;
  rules: LayoutRules;
  put(file: string, content: Buffer | string): void;
  putObjects(file: string, objs: Record<string, any>[]): void;
}

/**
 * A chart artifact's `helm-chart/` folder: the HelmRepository of a remote chart (or the chart copied from the
 * profile, built by Flux from the GitOps repository itself), the defaults ConfigMap and the HelmRelease.
 * Returns the folder the artifact's Flux Kustomization applies.
 */
export function renderChart(s: RenderSink, a: ResolvedArtifact, chain: string[], artDir: string): string {
  const { req, names, rules } = s;
  const contentDir = posix.join(artDir, 'helm-chart');
  const base = rules.objectParts(req.name, chain);
  const key = [req.name, ...chain];
  const release = names.name('HelmRelease', base, NAME_LIMITS.HelmRelease!, key);
  const { chartSpec, helmFiles } = chartSource(s, a, artDir, base, key);
  let valuesFrom: object[] | undefined;
  if (a.defaultValues) {
    const { suffix, key: valuesKey } = rules.defaults;
    const cm = names.name('ConfigMap', [...base, suffix], DEFAULT_NAME_LIMIT, [...key, suffix]);
    s.putObjects(posix.join(contentDir, 'ConfigMap.yaml'), [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: cm, namespace: req.namespace },
        data: { [valuesKey]: toYaml(a.defaultValues) },
      },
    ]);
    helmFiles.push('ConfigMap.yaml');
    valuesFrom = [{ kind: 'ConfigMap', name: cm, valuesKey }];
  }
  const userValues = req.values?.[chain.join('/')];
  // pctl's --config-map and any other values the user keeps outside git: after the profile's defaults.
  const userFrom = req.valuesFrom?.[chain.join('/')] ?? [];
  if (userFrom.length) valuesFrom = [...(valuesFrom ?? []), ...userFrom];
  // Unique like every other name: pctl gave two nested artifacts of one name the same Helm release.
  const releaseParts = rules.releaseName(chain);
  const releaseName = releaseParts && names.name('Helm release', releaseParts, NAME_LIMITS.HelmRelease!, key);
  s.putObjects(posix.join(contentDir, 'HelmRelease.yaml'), [
    {
      apiVersion: 'helm.toolkit.fluxcd.io/v2',
      kind: 'HelmRelease',
      metadata: { name: release, namespace: req.namespace },
      spec: {
        interval: INTERVAL,
        ...(releaseName ? { releaseName } : {}),
        chart: { spec: { ...chartSpec, interval: INTERVAL } },
        // Flux merges valuesFrom in order, then `values` on top: profile defaults first, the user's after.
        ...(valuesFrom ? { valuesFrom } : {}),
        ...(userValues ? { values: userValues } : {}),
      },
    },
  ]);
  helmFiles.push('HelmRelease.yaml');
  // pctl wrote this file for local charts only (kustomize-controller lists a folder without one itself).
  if (rules.helmKustomizationAlways || a.localPath) {
    s.put(
      posix.join(contentDir, 'kustomization.yaml'),
      toYaml({
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: helmFiles.sort(),
      }),
    );
  }
  return contentDir;
}

/**
 * Where Flux gets the chart: a local chart is copied into the installation (Flux builds it from the GitOps
 * repository), a remote one gets a HelmRepository (type oci for an OCI registry).
 */
function chartSource(
  s: RenderSink,
  a: ResolvedArtifact,
  artDir: string,
  base: string[],
  key: string[],
): { chartSpec: Record<string, unknown>; helmFiles: string[] } {
  const { req, flux, names, rules } = s;
  const contentDir = posix.join(artDir, 'helm-chart');
  const helmFiles: string[] = [];
  const chartSpec: Record<string, unknown> = {};
  if (a.localPath) {
    const chartDir = posix.join(artDir, rules.chartDir(a.localPath));
    for (const [f, data] of a.files!) s.put(posix.join(chartDir, f), data);
    Object.assign(chartSpec, {
      chart: rules.fluxPath(chartDir),
      reconcileStrategy: 'Revision',
      sourceRef: { kind: 'GitRepository', name: flux.name, namespace: flux.namespace },
    });
  } else {
    const repoName = names.name('HelmRepository', base, DEFAULT_NAME_LIMIT, key);
    s.putObjects(posix.join(contentDir, 'HelmRepository.yaml'), [
      {
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'HelmRepository',
        metadata: { name: repoName, namespace: req.namespace },
        // An OCI registry (`oci://…`, where most public charts live now) is a HelmRepository of type oci.
        spec: {
          interval: INTERVAL,
          url: a.def.chart!.url,
          ...(a.def.chart!.url!.startsWith('oci://') ? { type: 'oci' } : {}),
        },
      },
    ]);
    helmFiles.push('HelmRepository.yaml');
    Object.assign(chartSpec, {
      chart: a.def.chart!.name,
      ...(a.def.chart!.version ? { version: a.def.chart!.version } : {}),
      sourceRef: { kind: 'HelmRepository', name: repoName, namespace: req.namespace },
    });
  }
  return { chartSpec, helmFiles };
}
