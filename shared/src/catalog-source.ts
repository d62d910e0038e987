import { parseTag } from './semver.ts';

/**
 * The `weave.works/v1alpha1` ProfileCatalogSource, as the original CRD defines it, and the checks that turn
 * one into catalog entries. A source is accepted when its envelope is sound; each inline entry is then
 * checked on its own, so one bad entry never hides the good ones beside it.
 */
export const API_GROUP = 'weave.works';
export const API_VERSION = 'weave.works/v1alpha1';
export const CATALOG_SOURCE_KIND = 'ProfileCatalogSource';
export const PROFILE_DEFINITION_KIND = 'ProfileDefinition';

export interface SourceRef {
  namespace: string;
  name: string;
}

export interface InlineProfileEntry {
  name?: string;
  description?: string;
  maintainer?: string;
  prerequisites?: string[];
  tag?: string;
  url?: string;
  catalogSource?: string;
}

export interface RepositoryRef {
  url: string;
  secretRef?: { name: string };
  /** Extension: poll interval for this repository, e.g. `5m`. */
  interval?: string;
}

/**
 * Extension: who may see the catalog of this source. Absent: the API's default (AUTH_DEFAULT_ACCESS). Present:
 * the listed users, members of the listed groups, and everyone when `public` is true.
 */
export interface SourceAccess {
  users?: string[];
  groups?: string[];
  public?: boolean;
}

export interface CatalogSourceSpec {
  profiles?: InlineProfileEntry[];
  repositories?: RepositoryRef[];
  access?: SourceAccess;
}

/** Checks `spec.access`; a reason naming the field, or the access as stored (undefined when absent). */
export function checkSourceAccess(
  access: unknown,
): { ok: true; access: SourceAccess | undefined } | { ok: false; reason: string } {
  if (access === undefined || access === null) return { ok: true, access: undefined };
  if (!isRecord(access)) return { ok: false, reason: 'spec.access must be a mapping' };
  const out: SourceAccess = {};
  for (const f of ['users', 'groups'] as const) {
    const v = access[f];
    if (v === undefined || v === null) continue;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.length === 0 || x.length > 253))
      return { ok: false, reason: `spec.access.${f} must be a list of names` };
    out[f] = v as string[];
  }
  if (access.public !== undefined && access.public !== null) {
    if (typeof access.public !== 'boolean')
      return { ok: false, reason: 'spec.access.public must be true or false' };
    out.public = access.public;
  }
  const unknown = Object.keys(access).find((k) => !['users', 'groups', 'public'].includes(k));
  if (unknown) return { ok: false, reason: `spec.access.${unknown} is not a field (users, groups, public)` };
  return { ok: true, access: out };
}

export interface CatalogSourceDocument {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; generation?: number; [k: string]: unknown };
  spec: CatalogSourceSpec;
}

export const DEFAULT_NAMESPACE = 'default';

// Kubernetes object names (DNS-1123 subdomain) and namespaces (DNS-1123 label).
const SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// Profile names become parts of Kubernetes names and of paths: the same alphabet, dots allowed.
const PROFILE_NAME_RE = /^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/i;

export function isValidObjectName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && SUBDOMAIN_RE.test(name);
}

export function isValidNamespace(ns: string): boolean {
  return ns.length > 0 && ns.length <= 63 && LABEL_RE.test(ns);
}

export function isValidProfileName(name: string): boolean {
  return name.length > 0 && name.length <= 200 && PROFILE_NAME_RE.test(name);
}

/** `namespace/name`: the identity of a catalog source and so of a catalog. */
export function sourceId(ref: SourceRef): string {
  return `${ref.namespace}/${ref.name}`;
}

export function parseSourceId(id: string): SourceRef | undefined {
  const i = id.indexOf('/');
  if (i <= 0 || i === id.length - 1) return undefined;
  return { namespace: id.slice(0, i), name: id.slice(i + 1) };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export type DocumentCheck =
  | { ok: true; document: CatalogSourceDocument; ref: SourceRef }
  | { ok: false; reason: string; ref?: SourceRef };

/**
 * Checks the envelope of a ProfileCatalogSource (apiVersion, kind, metadata, spec shape). The entries are
 * checked later, one by one, by `checkInlineEntry`.
 */
export function checkCatalogSourceDocument(doc: unknown): DocumentCheck {
  if (!isRecord(doc)) return { ok: false, reason: 'document is not a YAML mapping' };
  if (doc.apiVersion !== API_VERSION) {
    return {
      ok: false,
      reason: `apiVersion must be ${API_VERSION}, got ${JSON.stringify(doc.apiVersion ?? null)}`,
    };
  }
  if (doc.kind !== CATALOG_SOURCE_KIND) {
    return {
      ok: false,
      reason: `kind must be ${CATALOG_SOURCE_KIND}, got ${JSON.stringify(doc.kind ?? null)}`,
    };
  }
  const md = doc.metadata;
  if (!isRecord(md) || typeof md.name !== 'string') return { ok: false, reason: 'metadata.name is required' };
  if (!isValidObjectName(md.name))
    return { ok: false, reason: `metadata.name ${JSON.stringify(md.name)} is not a valid Kubernetes name` };
  const namespace = md.namespace === undefined ? DEFAULT_NAMESPACE : md.namespace;
  if (typeof namespace !== 'string' || !isValidNamespace(namespace)) {
    return {
      ok: false,
      reason: `metadata.namespace ${JSON.stringify(md.namespace)} is not a valid namespace`,
    };
  }
  const ref = { namespace, name: md.name };
  const spec = doc.spec === undefined || doc.spec === null ? {} : doc.spec;
  if (!isRecord(spec)) return { ok: false, ref, reason: 'spec must be a mapping' };
  if (spec.profiles !== undefined && spec.profiles !== null && !Array.isArray(spec.profiles)) {
    return { ok: false, ref, reason: 'spec.profiles must be a list' };
  }
  if (spec.repositories !== undefined && spec.repositories !== null && !Array.isArray(spec.repositories)) {
    return { ok: false, ref, reason: 'spec.repositories must be a list' };
  }
  const access = checkSourceAccess(spec.access);
  if (!access.ok) return { ok: false, ref, reason: access.reason };
  const document: CatalogSourceDocument = {
    apiVersion: API_VERSION,
    kind: CATALOG_SOURCE_KIND,
    metadata: { ...md, name: md.name, namespace },
    spec: {
      profiles: (spec.profiles ?? []) as InlineProfileEntry[],
      repositories: (spec.repositories ?? []) as RepositoryRef[],
      ...(access.access ? { access: access.access } : {}),
    },
  };
  return { ok: true, document, ref };
}

export interface CheckedEntry {
  name: string;
  version: string;
  tag: string;
  description: string;
  maintainer: string;
  prerequisites: string[];
  url: string;
}

const STRING_FIELDS = ['name', 'description', 'maintainer', 'tag', 'url', 'catalogSource'] as const;
const MAX_FIELD = 4096;

/** Checks one inline entry; the reason names the field so the user can find it in the manifest. */
export function checkInlineEntry(
  entry: unknown,
): { ok: true; entry: CheckedEntry } | { ok: false; reason: string } {
  if (!isRecord(entry)) return { ok: false, reason: 'entry is not a mapping' };
  for (const f of STRING_FIELDS) {
    const v = entry[f];
    if (v !== undefined && v !== null && typeof v !== 'string')
      return { ok: false, reason: `${f} must be a string` };
    if (typeof v === 'string' && v.length > MAX_FIELD)
      return { ok: false, reason: `${f} is longer than ${MAX_FIELD} characters` };
  }
  const name = entry.name as string | undefined;
  if (!name) return { ok: false, reason: 'name is required' };
  if (!isValidProfileName(name))
    return {
      ok: false,
      reason: `name ${JSON.stringify(name)} may hold only letters, digits, '-', '_' and '.'`,
    };
  const tag = entry.tag as string | undefined;
  if (!tag) return { ok: false, reason: 'tag is required' };
  const parsed = parseTag(tag);
  if (!parsed) return { ok: false, reason: `tag ${JSON.stringify(tag)} is not a valid semver version` };
  const prereq = entry.prerequisites;
  if (
    prereq !== undefined &&
    prereq !== null &&
    (!Array.isArray(prereq) || prereq.some((p) => typeof p !== 'string'))
  ) {
    return { ok: false, reason: 'prerequisites must be a list of strings' };
  }
  return {
    ok: true,
    entry: {
      name,
      version: parsed.version,
      tag,
      description: (entry.description as string | undefined) ?? '',
      maintainer: (entry.maintainer as string | undefined) ?? '',
      prerequisites: (prereq as string[] | undefined) ?? [],
      url: (entry.url as string | undefined) ?? '',
    },
  };
}
