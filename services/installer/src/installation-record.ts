import { posix } from 'node:path';
import {
  AppError,
  INSTALLATION_ID_ANNOTATION,
  checkValues,
  parseLayout,
  parseYaml,
  type InstallLayout,
  type ArtifactPatches,
  type ArtifactValuesFrom,
  type InstallRequest,
  type ProfileSource,
} from '@profiles/shared';
import type { Workspace } from './workspace.ts';

export const RECORD_FILE = 'profile-installation.yaml';

/**
 * What a target repository records about one installation, in its `profile-installation.yaml`: the source it
 * was rendered from, the values, the names, and the id of the request that wrote it. Every upgrade starts from
 * this (never from what a request remembers), so the base of a merge is what the repository really holds.
 */
export interface InstallationRecord {
  /** The installation folder (repository-relative). */
  dir: string;
  /** The file's text as read: an upgrade checks it is unchanged when it writes. */
  content: string;
  name: string;
  namespace: string;
  id: string;
  source: ProfileSource;
  values: InstallRequest['values'];
  patches: ArtifactPatches;
  valuesFrom: ArtifactValuesFrom;
  /** pctl's `--config-map`: one ConfigMap holding every chart artifact's values under the artifact's name. */
  configMap?: string;
  fluxSource?: { name: string; namespace: string };
  /** How the folder is laid out (absent in the file: the default); upgrades render it the same way. */
  layout: InstallLayout;
}

interface RecordYaml {
  kind?: string;
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec?: {
    source?: { url?: string; tag?: string; branch?: string; path?: string };
    catalog?: { catalog?: string; profile?: string; version?: string };
    gitRepository?: { name?: string; namespace?: string };
    values?: unknown;
    patches?: unknown;
    valuesFrom?: unknown;
    configMap?: unknown;
    layout?: unknown;
  };
}

/** A map of artifact -> list, as the installer writes `spec.patches` and `spec.valuesFrom`. */
function listsOf<T>(v: unknown, file: string, field: string): Record<string, T[]> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => !Array.isArray(x))) {
    throw new AppError('PROFILE_INVALID', `${file}: spec.${field} is not a map of artifact lists`);
  }
  return v as Record<string, T[]>;
}

export function parseRecord(dir: string, content: string): InstallationRecord {
  const file = posix.join(dir, RECORD_FILE);
  let o: RecordYaml;
  try {
    o = parseYaml(content) as RecordYaml;
  } catch (err) {
    throw new AppError('PROFILE_INVALID', `${file} is not valid YAML`, { cause: err });
  }
  const src = o?.spec?.source;
  if (!src?.url || (!src.tag && !src.branch)) {
    throw new AppError(
      'PROFILE_INVALID',
      `${file} names no profile source (spec.source.url and tag or branch)`,
    );
  }
  const values = o.spec?.values ?? {};
  if (typeof values !== 'object' || Array.isArray(values) || values === null) {
    throw new AppError('VALUES_INVALID', `${file}: spec.values is not a map of artifact values`);
  }
  checkValues(values as Record<string, unknown>, `${file} spec.values`);
  const cat = o.spec?.catalog;
  const repo = o.spec?.gitRepository;
  let layout: InstallLayout;
  try {
    layout = parseLayout(o.spec?.layout, `${file} spec.layout`);
  } catch (err) {
    throw new AppError('PROFILE_INVALID', (err as Error).message);
  }
  return {
    dir,
    content,
    name: posix.basename(dir),
    namespace: o.metadata?.namespace ?? 'default',
    id: o.metadata?.annotations?.[INSTALLATION_ID_ANNOTATION] ?? '',
    source: {
      url: src.url,
      ...(src.tag ? { tag: src.tag } : { branch: src.branch! }),
      ...(src.path ? { path: src.path } : {}),
      ...(cat?.catalog && cat.profile && cat.version
        ? { catalog: { catalog: cat.catalog, name: cat.profile, version: cat.version } }
        : {}),
    },
    values: values as InstallRequest['values'],
    patches: listsOf(o.spec?.patches, file, 'patches'),
    valuesFrom: listsOf(o.spec?.valuesFrom, file, 'valuesFrom'),
    ...(typeof o.spec?.configMap === 'string' && o.spec.configMap ? { configMap: o.spec.configMap } : {}),
    ...(repo?.name && repo.namespace ? { fluxSource: { name: repo.name, namespace: repo.namespace } } : {}),
    layout,
  };
}

export function installationIdOf(recordYaml: string): string | undefined {
  try {
    const o = parseYaml(recordYaml) as RecordYaml;
    return o?.metadata?.annotations?.[INSTALLATION_ID_ANNOTATION];
  } catch {
    return undefined;
  }
}

/** The record without the id annotation: two renderings that differ only in it change nothing. */
export function withoutId(recordYaml: Buffer | undefined): string | undefined {
  return recordYaml
    ?.toString('utf8')
    .replace(new RegExp(`^(\\s*${INSTALLATION_ID_ANNOTATION.replace(/\./g, '\\.')}:).*$`, 'm'), '$1');
}

/**
 * Generated object names derive from the installation name, and they live in its namespace: a second
 * installation of the same name and namespace elsewhere in the repository would fight the first in the cluster.
 */
export async function checkNameFree(
  ws: Workspace,
  dir: string,
  name: string,
  namespace: string,
): Promise<void> {
  // Records live at <path>/<name>/profile-installation.yaml (pctl's layout and ours).
  for (const f of await ws.tracked(`**/${name}/${RECORD_FILE}`)) {
    if (posix.dirname(f) === dir) continue;
    let o: RecordYaml;
    try {
      o = parseYaml((await ws.read(f)) ?? '') as RecordYaml;
    } catch {
      continue;
    }
    if (o?.kind !== 'ProfileInstallation') continue;
    const other = o.metadata?.name ?? posix.basename(posix.dirname(f));
    if (other === name && (o.metadata?.namespace ?? 'default') === namespace) {
      throw new AppError(
        'INSTALLATION_NAME_TAKEN',
        `${namespace}/${name} is already installed at ${posix.dirname(f)}: its Flux objects would have the same names; choose another name or namespace`,
        { details: { parameter: 'name', existing: posix.dirname(f) } },
      );
    }
  }
}
