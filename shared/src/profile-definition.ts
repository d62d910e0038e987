import {
  API_VERSION,
  isValidNamespace,
  isValidProfileName,
  PROFILE_DEFINITION_KIND,
} from './catalog-source.ts';
import { parseYaml } from './yaml.ts';

/**
 * The `weave.works/v1alpha1` ProfileDefinition (a profile's `profile.yaml`), checked and normalised into the
 * artifact list the catalog stores and the installer renders. Each artifact is exactly one of a Helm chart
 * (remote, or at a path in the profile repository), a kustomize path, or a nested profile.
 */
export interface ChartArtifact {
  url?: string;
  name?: string;
  version?: string;
  path?: string;
  defaultValues?: string;
}

export interface ProfileSourceRef {
  url: string;
  tag?: string;
  branch?: string;
  path?: string;
}

export interface Artifact {
  name: string;
  kind: 'chart' | 'kustomize' | 'profile';
  chart?: ChartArtifact;
  kustomize?: { path: string };
  profile?: { source: ProfileSourceRef };
  dependsOn: string[];
}

export interface ProfileDefinition {
  name: string;
  description: string;
  maintainer: string;
  prerequisites: string[];
  artifacts: Artifact[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** A relative path inside the profile: no absolute paths, no `..` segments. */
export function isSafeRelativePath(p: string): boolean {
  if (p === '' || p.startsWith('/') || p.includes('\\') || p.includes('\0')) return false;
  return !p.split('/').some((seg) => seg === '..');
}

/** The earlier format of the same project (`profiles.fluxcd.io/v1alpha1` Profile), still found in old tags. */
const LEGACY_API_VERSION = 'profiles.fluxcd.io/v1alpha1';

function fromLegacy(doc: Record<string, unknown>): Record<string, unknown> {
  const spec = isRecord(doc.spec) ? doc.spec : {};
  const artifacts = Array.isArray(spec.artifacts) ? spec.artifacts : [];
  const convert = (a: unknown): unknown => {
    if (!isRecord(a)) return a;
    const { kind, path, profile, chart, ...rest } = a;
    if (kind === 'HelmChart') return { ...rest, chart: isRecord(chart) ? chart : { path } };
    if (kind === 'Kustomize') return { ...rest, kustomize: { path } };
    if (kind === 'Profile' && isRecord(profile)) {
      const source: Record<string, unknown> = { url: profile.url };
      if (profile.version) source.tag = profile.version;
      if (profile.branch) source.branch = profile.branch;
      if (profile.path) source.path = profile.path;
      return { ...rest, profile: { source } };
    }
    return a;
  };
  return {
    ...doc,
    apiVersion: API_VERSION,
    kind: PROFILE_DEFINITION_KIND,
    spec: { ...spec, artifacts: artifacts.map(convert) },
  };
}

/** Why `defaultValues` (YAML text) is not a map of values, or undefined when it is one (or empty). */
function checkDefaultValues(text: string | undefined): string | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  let v: unknown;
  try {
    v = parseYaml(text, { maxAliasCount: 50 });
  } catch (err) {
    return `is not YAML: ${(err as Error).message}`;
  }
  return v === null || isRecord(v) ? undefined : 'is not a YAML map';
}

type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

/** One entry of `spec.artifacts` (index `i`); `names` holds the names of the entries before it. */
function checkArtifact(a: unknown, i: number, names: Set<string>): Checked<Artifact> {
  const where = `spec.artifacts[${i}]`;
  if (!isRecord(a)) return { ok: false, reason: `${where} is not a mapping` };
  const aname = str(a.name);
  if (!aname) return { ok: false, reason: `${where}.name is required` };
  // Artifact names become parts of Flux object names and folders: a DNS label, as the installer needs.
  if (!isValidNamespace(aname))
    return {
      ok: false,
      reason: `${where}.name ${JSON.stringify(aname)} must be lower-case letters, digits and '-' (a DNS label)`,
    };
  if (names.has(aname)) return { ok: false, reason: `${where}.name ${JSON.stringify(aname)} is used twice` };
  names.add(aname);
  const kinds = (['chart', 'kustomize', 'profile'] as const).filter(
    (k) => a[k] !== undefined && a[k] !== null,
  );
  if (kinds.length !== 1)
    return {
      ok: false,
      reason: `${where} (${aname}) must have exactly one of chart, kustomize or profile`,
    };
  const kind = kinds[0]!;
  const rawDeps = a.dependsOn ?? [];
  if (!Array.isArray(rawDeps) || rawDeps.some((d) => !isRecord(d) || typeof d.name !== 'string')) {
    return { ok: false, reason: `${where} (${aname}).dependsOn must be a list of {name}` };
  }
  const artifact: Artifact = {
    name: aname,
    kind,
    dependsOn: rawDeps.map((d) => (d as { name: string }).name),
  };
  const body = a[kind];
  if (!isRecord(body)) return { ok: false, reason: `${where} (${aname}).${kind} must be a mapping` };
  if (kind === 'chart') {
    const chart: ChartArtifact = {};
    for (const f of ['url', 'name', 'version', 'path', 'defaultValues'] as const) {
      const v = body[f];
      if (v !== undefined && v !== null && typeof v !== 'string')
        return { ok: false, reason: `${where} (${aname}).chart.${f} must be a string` };
      if (typeof v === 'string') chart[f] = v;
    }
    if (chart.path !== undefined && !isSafeRelativePath(chart.path))
      return {
        ok: false,
        reason: `${where} (${aname}).chart.path ${JSON.stringify(chart.path)} escapes the profile`,
      };
    if (chart.path === undefined && (!chart.url || !chart.name))
      return { ok: false, reason: `${where} (${aname}).chart needs path, or url and name` };
    if (chart.url !== undefined && !/^(https?|oci):\/\/[^/\s]+/.test(chart.url))
      return {
        ok: false,
        reason: `${where} (${aname}).chart.url must be an https://, http:// or oci:// URL of a chart repository`,
      };
    const values = checkDefaultValues(chart.defaultValues);
    if (values) return { ok: false, reason: `${where} (${aname}).chart.defaultValues ${values}` };
    artifact.chart = chart;
  } else if (kind === 'kustomize') {
    const path = str(body.path);
    if (!path) return { ok: false, reason: `${where} (${aname}).kustomize.path is required` };
    if (!isSafeRelativePath(path))
      return {
        ok: false,
        reason: `${where} (${aname}).kustomize.path ${JSON.stringify(path)} escapes the profile`,
      };
    artifact.kustomize = { path };
  } else {
    const src = isRecord(body.source) ? body.source : undefined;
    const url = src ? str(src.url) : undefined;
    if (!src || !url) return { ok: false, reason: `${where} (${aname}).profile.source.url is required` };
    const source: ProfileSourceRef = { url };
    for (const f of ['tag', 'branch', 'path'] as const)
      if (typeof src[f] === 'string') source[f] = src[f] as string;
    if (!source.tag && !source.branch) source.branch = 'main';
    artifact.profile = { source };
  }
  return { ok: true, value: artifact };
}

export function checkProfileDefinition(
  input: unknown,
): { ok: true; profile: ProfileDefinition } | { ok: false; reason: string } {
  if (!isRecord(input)) return { ok: false, reason: 'profile.yaml is not a YAML mapping' };
  const doc = input.apiVersion === LEGACY_API_VERSION && input.kind === 'Profile' ? fromLegacy(input) : input;
  if (doc.apiVersion !== API_VERSION) return { ok: false, reason: `apiVersion must be ${API_VERSION}` };
  if (doc.kind !== PROFILE_DEFINITION_KIND)
    return { ok: false, reason: `kind must be ${PROFILE_DEFINITION_KIND}` };
  const md = isRecord(doc.metadata) ? doc.metadata : {};
  const name = str(md.name);
  if (!name) return { ok: false, reason: 'metadata.name is required' };
  if (!isValidProfileName(name))
    return { ok: false, reason: `metadata.name ${JSON.stringify(name)} is not a valid profile name` };
  const spec = isRecord(doc.spec) ? doc.spec : {};
  const prereq = spec.prerequisites ?? [];
  if (!Array.isArray(prereq) || prereq.some((p) => typeof p !== 'string')) {
    return { ok: false, reason: 'spec.prerequisites must be a list of strings' };
  }
  const rawArtifacts = spec.artifacts ?? [];
  if (!Array.isArray(rawArtifacts)) return { ok: false, reason: 'spec.artifacts must be a list' };
  // The installer refuses a profile with nothing to install (PROFILE_NO_ARTIFACTS): it is not listed either.
  if (rawArtifacts.length === 0)
    return { ok: false, reason: 'spec.artifacts is empty: a profile installs at least one artifact' };
  const artifacts: Artifact[] = [];
  const names = new Set<string>();
  for (const [i, a] of rawArtifacts.entries()) {
    const checked = checkArtifact(a, i, names);
    if (!checked.ok) return checked;
    artifacts.push(checked.value);
  }
  for (const a of artifacts) {
    for (const d of a.dependsOn) {
      if (!names.has(d))
        return {
          ok: false,
          reason: `artifact ${a.name} depends on unknown artifact ${JSON.stringify(d)} (not an artifact of this profile)`,
        };
    }
  }
  return {
    ok: true,
    profile: {
      name,
      description: str(spec.description) ?? '',
      maintainer: str(spec.maintainer) ?? '',
      prerequisites: prereq as string[],
      artifacts,
    },
  };
}
