import { posix } from 'node:path';
import {
  AppError,
  INSTALLATION_ID_ANNOTATION,
  checkTargetPath,
  toYaml,
  type InstallRequest,
  type ValidationFinding,
} from '@profiles/shared';
import { DEFAULT_NAME_LIMIT, type FluxValidator } from './flux-schemas.ts';
import { checkArtifactOptions, checkValuesSchema } from './artifact-options.ts';
import { layoutRules } from './layouts.ts';
import { NameAllocator } from './names.ts';
import { INTERVAL, renderChart, type RenderSink } from './render-chart.ts';
import type { ResolvedArtifact, ResolvedProfile } from './resolve-tree.ts';

/** The rendered installation: every file under `dir`, repository-relative paths, in a stable order. */
export interface Rendered {
  dir: string;
  files: Map<string, Buffer>;
  /** Schema findings: any of them stops an install. */
  findings: ValidationFinding[];
  /** What could not be checked (warnings naming the artifact): said, never silently skipped. */
  notes: ValidationFinding[];
  /** Every generated Kubernetes object and its file (the cluster names an install checks are free). */
  objects: RenderedObject[];
}

export interface RenderedObject {
  file: string;
  obj: Record<string, any>;
}

interface Leaf {
  chain: string[];
  artifact: ResolvedArtifact;
  wrapper: string;
}

type RenderRequest = Pick<
  InstallRequest,
  'id' | 'name' | 'namespace' | 'target' | 'values' | 'profile' | 'patches' | 'valuesFrom' | 'layout'
>;

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
 * with names and a few paths as `req.layout` says (layouts.ts). Each artifact is wrapped in its own Flux
 * Kustomization so dependsOn works whatever the artifact's kind. Pure: the same tree and request give the same
 * bytes, which upgrades rely on (the base is re-rendered).
 */
export function renderInstallation(
  profile: ResolvedProfile,
  req: RenderRequest,
  validator: FluxValidator,
): Rendered {
  checkTargetPath(req.target.path || '.');
  const dir = checkTargetPath(posix.join(req.target.path || '.', req.name), 'installation folder');
  const files = new Map<string, Buffer>();
  const objects: RenderedObject[] = [];
  const put = (file: string, content: Buffer | string) => {
    if (files.has(file)) throw new AppError('RENDER_INVALID', `two artifacts write ${file}`);
    files.set(file, typeof content === 'string' ? Buffer.from(content) : content);
  };
  const sink: RenderSink = {
    req,
    flux: req.target.fluxSource ?? { name: 'flux-system', namespace: 'flux-system' },
    names: new NameAllocator(),
    rules: layoutRules(req.layout),
    put,
    putObjects: (file, objs) => {
      for (const o of objs) objects.push({ file, obj: o });
      put(file, objs.map((o) => toYaml(o)).join('---\n'));
    },
  };
  const { leaves, leavesOf } = flattenLeaves(profile, sink);
  const notes = checkOptions(leaves, req);
  const artifactDirs: string[] = [];
  const emit = (p: ResolvedProfile, prefix: string[]) => {
    for (const a of p.artifacts) {
      if (p.artifacts.find((x) => x.name === a.name) !== a) continue; // a second artifact of one name: the first wins
      const chain = [...prefix, a.name];
      if (a.profile) emit(a.profile, chain);
      else {
        const dependsOn = a.dependsOn.flatMap((d) => {
          const target = p.artifacts.find((x) => x.name === d);
          if (!target)
            throw new AppError('PROFILE_INVALID', `artifact ${a.name} depends on unknown artifact ${d}`);
          return (leavesOf.get(target) ?? []).map((l) => ({ name: l.wrapper, namespace: req.namespace }));
        });
        artifactDirs.push(emitArtifact(sink, dir, leavesOf.get(a)![0]!, dependsOn));
      }
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
  put(posix.join(dir, 'profile-installation.yaml'), toYaml(recordOf(profile, req, sink.flux)));
  return {
    dir,
    files: new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1))),
    findings: objects.flatMap((o) => validator.validate(o.file, o.obj)),
    notes,
    objects,
  };
}

/** Every leaf artifact with its wrapper's name, first, so dependsOn can point anywhere in the tree. */
function flattenLeaves(profile: ResolvedProfile, s: RenderSink) {
  const leaves: Leaf[] = [];
  const leavesOf = new Map<ResolvedArtifact, Leaf[]>();
  const flatten = (p: ResolvedProfile, prefix: string[]): Leaf[] => {
    const all: Leaf[] = [];
    for (const a of p.artifacts) {
      const chain = [...prefix, a.name];
      let mine: Leaf[];
      if (a.profile) mine = flatten(a.profile, chain);
      else {
        const parts = s.rules.objectParts(s.req.name, chain);
        const wrapper = s.names.name('Kustomization', parts, DEFAULT_NAME_LIMIT, [s.req.name, ...chain]);
        mine = [{ chain, artifact: a, wrapper }];
        leaves.push(mine[0]!);
      }
      leavesOf.set(a, mine);
      all.push(...mine);
    }
    return all;
  };
  flatten(profile, []);
  return { leaves, leavesOf };
}

/**
 * Values, patches and valuesFrom name artifacts of the profile (keys: the artifact chain joined by `/`) and
 * fit them; values must pass a local chart's values.schema.json. Returns notes of what could not be checked.
 */
function checkOptions(leaves: Leaf[], req: RenderRequest): ValidationFinding[] {
  const byKey = new Map(leaves.map((l) => [l.chain.join('/'), l.artifact]));
  for (const [k, v] of Object.entries(req.values ?? {})) {
    if (!byKey.has(k)) {
      throw new AppError('VALUES_INVALID', `values given for unknown artifact ${JSON.stringify(k)}`, {
        details: { artifact: k, known: [...byKey.keys()] },
      });
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      throw new AppError('VALUES_INVALID', `values of artifact ${JSON.stringify(k)} are not a map`);
    }
    if (byKey.get(k)!.kind !== 'chart') {
      throw new AppError(
        'VALUES_INVALID',
        `artifact ${JSON.stringify(k)} is not a chart and takes no values`,
      );
    }
  }
  checkArtifactOptions(byKey, req.patches, req.valuesFrom);
  return [...byKey].flatMap(([k, a]) => checkValuesSchema(k, a, req.values?.[k], req.valuesFrom?.[k]));
}

/** One leaf artifact's folder: its content, its Flux Kustomization and the kustomization.yaml naming it. */
function emitArtifact(
  s: RenderSink,
  dir: string,
  leaf: Leaf,
  dependsOn: { name: string; namespace: string }[],
): string {
  const { req, flux, rules } = s;
  const a = leaf.artifact;
  const artDir = posix.join(dir, 'artifacts', ...leaf.chain);
  let contentDir: string;
  if (a.kind === 'kustomize') {
    contentDir = posix.join(artDir, a.localPath!);
    for (const [f, data] of a.files!) s.put(posix.join(contentDir, f), data);
  } else contentDir = renderChart(s, a, leaf.chain, artDir);
  const patches = req.patches?.[leaf.chain.join('/')] ?? [];
  s.putObjects(posix.join(artDir, 'kustomize-flux.yaml'), [
    {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name: leaf.wrapper, namespace: req.namespace },
      spec: {
        interval: INTERVAL,
        path: rules.fluxPath(contentDir),
        prune: true,
        wait: true,
        targetNamespace: req.namespace,
        sourceRef: { kind: 'GitRepository', name: flux.name, namespace: flux.namespace },
        ...(dependsOn.length ? { dependsOn } : {}),
        ...(patches.length ? { patches } : {}),
      },
    },
  ]);
  s.put(
    posix.join(artDir, 'kustomization.yaml'),
    toYaml({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: ['kustomize-flux.yaml'],
    }),
  );
  return posix.relative(dir, artDir);
}

/** profile-installation.yaml: everything an upgrade needs to render this installation again. */
function recordOf(profile: ResolvedProfile, req: RenderRequest, flux: { name: string; namespace: string }) {
  const src = req.profile;
  return {
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
      // The default layout is not written, so records of installations made before layouts existed read the same.
      ...(req.layout === 'pctl' ? { layout: 'pctl' } : {}),
      ...(Object.keys(req.values ?? {}).length ? { values: req.values } : {}),
      ...(Object.keys(req.patches ?? {}).length ? { patches: req.patches } : {}),
      ...(Object.keys(req.valuesFrom ?? {}).length ? { valuesFrom: req.valuesFrom } : {}),
    },
  };
}
