import { posix } from 'node:path';
import {
  AppError,
  INSTALLATION_ID_ANNOTATION,
  checkTargetPath,
  toYaml,
  type InstallRequest,
  type ValidationFinding,
} from '@profiles/shared';
import { DEFAULT_NAME_LIMIT, NAME_LIMITS, type FluxValidator } from './flux-schemas.ts';
import { checkArtifactOptions, checkValuesSchema } from './artifact-options.ts';
import { NameAllocator } from './names.ts';
import type { ResolvedArtifact, ResolvedProfile } from './resolve-tree.ts';

/** The rendered installation: every file under `dir`, repository-relative paths, in a stable order. */
export interface Rendered {
  dir: string;
  files: Map<string, Buffer>;
  findings: ValidationFinding[];
}

interface Leaf {
  chain: string[];
  artifact: ResolvedArtifact;
  wrapper: string;
}

const INTERVAL = '10m';
const VALUES_KEY = 'default.yaml';

/**
 * Renders a resolved profile tree to Flux manifests in the layout of the original pctl:
 *
 *   <path>/<name>/profile-installation.yaml
 *   <path>/<name>/kustomization.yaml                      lists every artifact folder
 *   <path>/<name>/artifacts/[<nested>/]<artifact>/kustomization.yaml       -> kustomize-flux.yaml
 *   <path>/<name>/artifacts/[<nested>/]<artifact>/kustomize-flux.yaml      Flux Kustomization (dependsOn)
 *   .../helm-chart/{HelmRepository,HelmRelease,ConfigMap,kustomization}.yaml  charts
 *   .../<path in profile>/...                             kustomize files, or a local chart
 *
 * Each artifact is wrapped in its own Flux Kustomization so dependsOn works whatever the artifact's kind.
 * Pure: the same tree and request give the same bytes, which upgrades rely on (the base is re-rendered).
 */
export function renderInstallation(
  profile: ResolvedProfile,
  req: Pick<
    InstallRequest,
    'id' | 'name' | 'namespace' | 'target' | 'values' | 'profile' | 'patches' | 'valuesFrom'
  >,
  validator: FluxValidator,
): Rendered {
  checkTargetPath(req.target.path || '.');
  const dir = checkTargetPath(posix.join(req.target.path || '.', req.name), 'installation folder');
  const flux = req.target.fluxSource ?? { name: 'flux-system', namespace: 'flux-system' };
  const names = new NameAllocator();
  const files = new Map<string, Buffer>();
  const objects: { file: string; obj: Record<string, any> }[] = [];
  const put = (file: string, content: Buffer | string) => {
    if (files.has(file)) throw new AppError('RENDER_INVALID', `two artifacts write ${file}`);
    files.set(file, typeof content === 'string' ? Buffer.from(content) : content);
  };
  const putObjects = (file: string, objs: Record<string, any>[]) => {
    for (const o of objs) objects.push({ file, obj: o });
    put(file, objs.map((o) => toYaml(o)).join('---\n'));
  };

  // Pass 1: flatten to leaves and name every wrapper, so dependsOn can point anywhere.
  const leaves: Leaf[] = [];
  const leavesOf = new Map<ResolvedArtifact, Leaf[]>();
  const flatten = (p: ResolvedProfile, prefix: string[]): Leaf[] => {
    const all: Leaf[] = [];
    for (const a of p.artifacts) {
      const chain = [...prefix, a.name];
      let mine: Leaf[];
      if (a.profile) mine = flatten(a.profile, chain);
      else {
        const leaf = {
          chain,
          artifact: a,
          wrapper: names.name('Kustomization', [req.name, ...chain], DEFAULT_NAME_LIMIT),
        };
        leaves.push(leaf);
        mine = [leaf];
      }
      leavesOf.set(a, mine);
      all.push(...mine);
    }
    return all;
  };
  flatten(profile, []);

  // Values per artifact: keys are the artifact chain joined by `/` (a top-level artifact: its name).
  const known = new Set(leaves.map((l) => l.chain.join('/')));
  for (const [k, v] of Object.entries(req.values ?? {})) {
    if (!known.has(k)) {
      throw new AppError('VALUES_INVALID', `values given for unknown artifact ${JSON.stringify(k)}`, {
        details: { artifact: k, known: [...known] },
      });
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      throw new AppError('VALUES_INVALID', `values of artifact ${JSON.stringify(k)} are not a map`);
    }
    if (leaves.find((l) => l.chain.join('/') === k)!.artifact.kind !== 'chart') {
      throw new AppError(
        'VALUES_INVALID',
        `artifact ${JSON.stringify(k)} is not a chart and takes no values`,
      );
    }
  }
  const byKey = new Map(leaves.map((l) => [l.chain.join('/'), l.artifact]));
  checkArtifactOptions(byKey, req.patches, req.valuesFrom);
  for (const [k, a] of byKey) checkValuesSchema(k, a, req.values?.[k]);

  const siblingsOf = (p: ResolvedProfile, a: ResolvedArtifact) =>
    p.artifacts.find((x) => x.name === a.name) === a;
  const dependsOnFor = (p: ResolvedProfile, a: ResolvedArtifact) =>
    a.dependsOn.flatMap((d) => {
      const target = p.artifacts.find((x) => x.name === d);
      if (!target)
        throw new AppError('PROFILE_INVALID', `artifact ${a.name} depends on unknown artifact ${d}`);
      return (leavesOf.get(target) ?? []).map((l) => ({ name: l.wrapper, namespace: req.namespace }));
    });

  const artifactDirs: string[] = [];
  const emit = (p: ResolvedProfile, prefix: string[]) => {
    for (const a of p.artifacts) {
      if (!siblingsOf(p, a)) continue;
      const chain = [...prefix, a.name];
      if (a.profile) {
        emit(a.profile, chain);
        continue;
      }
      const leaf = leavesOf.get(a)![0]!;
      const artDir = posix.join(dir, 'artifacts', ...chain);
      const rel = posix.relative(dir, artDir);
      artifactDirs.push(rel);
      let contentDir: string;
      if (a.kind === 'kustomize') {
        contentDir = posix.join(artDir, a.localPath!);
        for (const [f, data] of a.files!) put(posix.join(contentDir, f), data);
      } else {
        contentDir = posix.join(artDir, 'helm-chart');
        const base = [req.name, ...chain];
        const release = names.name('HelmRelease', base, NAME_LIMITS.HelmRelease!);
        const helmFiles: string[] = [];
        const chartSpec: Record<string, unknown> = {};
        if (a.localPath) {
          const chartDir = posix.join(artDir, a.localPath);
          for (const [f, data] of a.files!) put(posix.join(chartDir, f), data);
          Object.assign(chartSpec, {
            chart: `./${chartDir}`,
            reconcileStrategy: 'Revision',
            sourceRef: { kind: 'GitRepository', name: flux.name, namespace: flux.namespace },
          });
        } else {
          const repoName = names.name('HelmRepository', base, DEFAULT_NAME_LIMIT);
          putObjects(posix.join(contentDir, 'HelmRepository.yaml'), [
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
        let valuesFrom: object[] | undefined;
        if (a.defaultValues) {
          const cm = names.name('ConfigMap', [...base, 'defaults'], DEFAULT_NAME_LIMIT);
          putObjects(posix.join(contentDir, 'ConfigMap.yaml'), [
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: cm, namespace: req.namespace },
              data: { [VALUES_KEY]: toYaml(a.defaultValues) },
            },
          ]);
          helmFiles.push('ConfigMap.yaml');
          valuesFrom = [{ kind: 'ConfigMap', name: cm, valuesKey: VALUES_KEY }];
        }
        const userValues = req.values?.[chain.join('/')];
        // pctl's --config-map and any other values the user keeps outside git: after the profile's defaults.
        const userFrom = req.valuesFrom?.[chain.join('/')] ?? [];
        if (userFrom.length) valuesFrom = [...(valuesFrom ?? []), ...userFrom];
        putObjects(posix.join(contentDir, 'HelmRelease.yaml'), [
          {
            apiVersion: 'helm.toolkit.fluxcd.io/v2',
            kind: 'HelmRelease',
            metadata: { name: release, namespace: req.namespace },
            spec: {
              interval: INTERVAL,
              chart: { spec: { ...chartSpec, interval: INTERVAL } },
              // Flux merges valuesFrom in order, then `values` on top: profile defaults first, the user's after.
              ...(valuesFrom ? { valuesFrom } : {}),
              ...(userValues ? { values: userValues } : {}),
            },
          },
        ]);
        helmFiles.push('HelmRelease.yaml');
        put(
          posix.join(contentDir, 'kustomization.yaml'),
          toYaml({
            apiVersion: 'kustomize.config.k8s.io/v1beta1',
            kind: 'Kustomization',
            resources: helmFiles.sort(),
          }),
        );
      }
      const deps = dependsOnFor(p, a);
      const patches = req.patches?.[chain.join('/')] ?? [];
      putObjects(posix.join(artDir, 'kustomize-flux.yaml'), [
        {
          apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
          kind: 'Kustomization',
          metadata: { name: leaf.wrapper, namespace: req.namespace },
          spec: {
            interval: INTERVAL,
            path: `./${contentDir}`,
            prune: true,
            wait: true,
            targetNamespace: req.namespace,
            sourceRef: { kind: 'GitRepository', name: flux.name, namespace: flux.namespace },
            ...(deps.length ? { dependsOn: deps } : {}),
            ...(patches.length ? { patches } : {}),
          },
        },
      ]);
      put(
        posix.join(artDir, 'kustomization.yaml'),
        toYaml({
          apiVersion: 'kustomize.config.k8s.io/v1beta1',
          kind: 'Kustomization',
          resources: ['kustomize-flux.yaml'],
        }),
      );
    }
  };
  emit(profile, []);

  put(
    posix.join(dir, 'kustomization.yaml'),
    // The installation record is applied too: with the ProfileInstallation CRD (deploy/crds) it is visible in
    // the cluster, as pctl's was.
    toYaml({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: [...artifactDirs, 'profile-installation.yaml'],
    }),
  );
  const src = req.profile;
  put(
    posix.join(dir, 'profile-installation.yaml'),
    toYaml({
      apiVersion: 'weave.works/v1alpha1',
      kind: 'ProfileInstallation',
      metadata: {
        name: req.name,
        namespace: req.namespace,
        annotations: { [INSTALLATION_ID_ANNOTATION]: req.id },
      },
      spec: {
        source: {
          url: src.url,
          ...(src.tag ? { tag: src.tag } : { branch: src.branch ?? 'main' }),
          path: profile.path,
        },
        ...(src.catalog
          ? {
              catalog: {
                catalog: src.catalog.catalog,
                profile: src.catalog.name,
                version: src.catalog.version,
              },
            }
          : {}),
        gitRepository: { name: flux.name, namespace: flux.namespace },
        ...(Object.keys(req.values ?? {}).length ? { values: req.values } : {}),
        ...(Object.keys(req.patches ?? {}).length ? { patches: req.patches } : {}),
        ...(Object.keys(req.valuesFrom ?? {}).length ? { valuesFrom: req.valuesFrom } : {}),
      },
    }),
  );

  const findings = objects.flatMap((o) => validator.validate(o.file, o.obj));
  return { dir, files: new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1))), findings };
}
