import { posix } from 'node:path';
import {
  AppError,
  checkProfileDefinition,
  checkProfileFiles,
  normalizeVersion,
  parseYaml,
  type ProfileSource,
  type ProfileTreeNode,
  type Artifact,
  type ObjectType,
  type SecretRef,
} from '@profiles/shared';
import type { ProfileRepos } from './profile-repos.ts';

/** One artifact of a ProfileDefinition (weave.works/v1alpha1), as read from profile.yaml. */
export interface ArtifactDef {
  name: string;
  chart?: { url?: string; name?: string; version?: string; path?: string; defaultValues?: string };
  kustomize?: { path: string };
  profile?: { source: { url: string; tag?: string; branch?: string; path?: string } };
  dependsOn?: { name: string }[];
}

export interface ResolvedArtifact {
  name: string;
  kind: 'chart' | 'kustomize' | 'profile';
  def: ArtifactDef;
  dependsOn: string[];
  /** Nested profile, resolved. */
  profile?: ResolvedProfile;
  /** Files of a local chart or kustomize folder, relative to that folder. */
  files?: Map<string, Buffer>;
  /** The safe, normalised path of a local chart or kustomize folder inside the profile. */
  localPath?: string;
  defaultValues?: Record<string, unknown>;
}

export interface ResolvedProfile {
  name: string;
  version: string;
  url: string;
  ref: { tag?: string; branch?: string };
  path: string;
  commit: string;
  artifacts: ResolvedArtifact[];
}

const MAX_DEPTH = 20;

/** `weaveworks-nginx/v0.1.1` → folder `weaveworks-nginx`, version `0.1.1` (the original tag convention). */
export function splitTag(tag: string): { folder: string; version: string } {
  const i = tag.lastIndexOf('/');
  const folder = i < 0 ? '.' : tag.slice(0, i);
  const raw = i < 0 ? tag : tag.slice(i + 1);
  return { folder, version: normalizeVersion(raw) ?? raw };
}

/** A path inside a profile: relative, normalised, never escaping the profile folder. */
export function safeSubPath(p: string, what: string): string {
  const n = posix.normalize(p.replace(/\\/g, '/')).replace(/\/+$/, '');
  if (p.startsWith('/') || n === '..' || n.startsWith('../') || /[\0]/.test(p)) {
    throw new AppError('PROFILE_INVALID', `${what} path ${JSON.stringify(p)} escapes the profile folder`, {
      details: { path: p },
    });
  }
  return n === '' ? '.' : n;
}

function parseDefaultValues(text: string | undefined, where: string): Record<string, unknown> | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const v = parseYaml(text);
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new AppError('VALUES_INVALID', `defaultValues of ${where} is not a YAML map`);
  }
  return v as Record<string, unknown>;
}

/** The checked artifact in the shape of profile.yaml, which rendering reads. */
function toArtifactDef(a: Artifact): ArtifactDef {
  return {
    name: a.name,
    ...(a.chart ? { chart: a.chart } : {}),
    ...(a.kustomize ? { kustomize: a.kustomize } : {}),
    ...(a.profile ? { profile: a.profile } : {}),
    dependsOn: a.dependsOn.map((d) => ({ name: d })),
  };
}

/** Where a source points, and the two names it goes by in the nesting stack: a key to compare, a label to show. */
function sourceIdentity(source: ProfileSource): {
  ref: { tag?: string; branch?: string };
  path: string;
  key: string;
  label: string;
} {
  const ref = source.tag ? { tag: source.tag } : { branch: source.branch ?? 'main' };
  const path = safeSubPath(source.path ?? (source.tag ? splitTag(source.tag).folder : '.'), 'profile');
  const key = `${source.url}#${path}@${source.tag ?? source.branch}`;
  const label = `${path === '.' ? source.url : path}@${source.tag ?? source.branch}`;
  return { ref, path, key, label };
}

/**
 * Refuses a profile already on the stack (a cycle, named in the error) and nesting past MAX_DEPTH. Stack entries
 * are `key\nlabel`, so the cycle is reported in the labels a user wrote.
 */
function checkNesting(stack: string[], key: string, label: string): void {
  const seen = stack.findIndex((s) => s.split('\n')[0] === key);
  if (seen >= 0) {
    const cycle = [...stack.slice(seen).map((s) => s.split('\n')[1]), label].join(' -> ');
    throw new AppError('PROFILE_CYCLE', `nested profiles form a cycle: ${cycle}`, { details: { cycle } });
  }
  if (stack.length >= MAX_DEPTH) {
    throw new AppError('PROFILE_INVALID', `profiles are nested more than ${MAX_DEPTH} levels deep`);
  }
}

/** Reads and checks profile.yaml of the profile at `path` in `commit`. */
async function readDefinition(repos: ProfileRepos, source: ProfileSource, commit: string, path: string) {
  const file = posix.join(path, 'profile.yaml');
  const raw = await repos.readFile(source.url, commit, file);
  if (!raw) {
    throw new AppError('PROFILE_NOT_FOUND', `no ${file} in ${source.url} at ${source.tag ?? source.branch}`, {
      details: { url: source.url, path: file },
    });
  }
  const doc = parseYaml(raw.toString('utf8'), { maxAliasCount: 50 }) as {
    spec?: { artifacts?: unknown };
  } | null;
  // The general check below refuses an empty list too; this one gives it an error code of its own.
  if (Array.isArray(doc?.spec?.artifacts) && doc.spec.artifacts.length === 0) {
    throw new AppError('PROFILE_NO_ARTIFACTS', `${file} in ${source.url}: spec.artifacts is empty`, {
      details: { url: source.url, path: file, field: 'spec.artifacts' },
    });
  }
  // The checks the indexer ran on this version (shared/src/profile-check.ts); an unlisted source gets them here.
  const checked = checkProfileDefinition(doc);
  if (!checked.ok) throw new AppError('PROFILE_INVALID', `${file} in ${source.url}: ${checked.reason}`);
  return checked.profile;
}

/** A valid, unique name and exactly one kind; records the name in `names`. */
function checkArtifactShape(a: ArtifactDef, profile: string, names: Set<string>): void {
  if (!a || typeof a.name !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(a.name)) {
    throw new AppError(
      'PROFILE_INVALID',
      `profile ${profile}: artifact name ${JSON.stringify(a?.name)} is invalid`,
    );
  }
  if (names.has(a.name))
    throw new AppError('PROFILE_INVALID', `profile ${profile}: artifact ${a.name} twice`);
  names.add(a.name);
  const kinds = [a.chart, a.kustomize, a.profile].filter(Boolean).length;
  if (kinds !== 1) {
    throw new AppError(
      'PROFILE_INVALID',
      `profile ${profile}: artifact ${a.name} must have exactly one of chart, kustomize, profile`,
    );
  }
}

/** What resolving one artifact needs to know of the profile it is in. */
interface ArtifactContext {
  repos: ProfileRepos;
  url: string;
  commit: string;
  /** The profile's folder in its repository. */
  path: string;
  /** The profile's name, for errors. */
  name: string;
  /** The nesting stack, this profile included. */
  stack: string[];
  /** What the local artifacts found, for the shared file checks once all are read. */
  present: Map<string, ObjectType>;
}

async function resolveNestedArtifact(ctx: ArtifactContext, a: ArtifactDef, dependsOn: string[]) {
  const where = `${ctx.name}/${a.name}`;
  const s = a.profile!.source;
  if (!s?.url)
    throw new AppError('PROFILE_INVALID', `profile ${ctx.name}: artifact ${a.name} has no source url`);
  if (s.tag && s.branch) {
    throw new AppError(
      'PROFILE_SOURCE_AMBIGUOUS',
      `profile ${ctx.name}: artifact ${a.name}: profile.source has both tag and branch; give one`,
      { details: { artifact: where, field: 'profile.source' } },
    );
  }
  const nested = await resolveProfile(
    ctx.repos,
    {
      url: s.url,
      ...(s.tag ? { tag: s.tag } : { branch: s.branch ?? 'main' }),
      ...(s.path ? { path: s.path } : {}),
    },
    ctx.stack,
  );
  return { name: a.name, kind: 'profile', def: a, dependsOn, profile: nested } satisfies ResolvedArtifact;
}

/** Reads the files of a local chart or kustomize folder, with the path kept inside the profile. */
async function readLocal(ctx: ArtifactContext, a: ArtifactDef, p: string) {
  const local = safeSubPath(p, `artifact ${ctx.name}/${a.name}`);
  const files = await ctx.repos.readTree(ctx.url, ctx.commit, posix.join(ctx.path, local));
  return { local, files };
}

async function resolveChartArtifact(ctx: ArtifactContext, a: ArtifactDef, dependsOn: string[]) {
  const where = `${ctx.name}/${a.name}`;
  const c = a.chart!;
  const defaultValues = parseDefaultValues(c.defaultValues, `artifact ${where}`);
  const values = defaultValues ? { defaultValues } : {};
  if (c.path !== undefined && c.url !== undefined) {
    throw new AppError(
      'CHART_SOURCE_AMBIGUOUS',
      `profile ${ctx.name}: artifact ${a.name}: chart has both path and url; a local chart takes path, a remote one url and name`,
      { details: { artifact: where, field: 'chart' } },
    );
  }
  if (c.path !== undefined) {
    const { local, files } = await readLocal(ctx, a, c.path);
    if (files.has('Chart.yaml')) ctx.present.set(posix.join(local, 'Chart.yaml'), 'blob');
    return {
      name: a.name,
      kind: 'chart',
      def: a,
      dependsOn,
      localPath: local,
      files,
      ...values,
    } satisfies ResolvedArtifact;
  }
  if (!c.url || !c.name) {
    throw new AppError('PROFILE_INVALID', `artifact ${where}: a chart needs a path, or a url and a name`);
  }
  return { name: a.name, kind: 'chart', def: a, dependsOn, ...values } satisfies ResolvedArtifact;
}

async function resolveArtifact(ctx: ArtifactContext, a: ArtifactDef): Promise<ResolvedArtifact> {
  const dependsOn = (a.dependsOn ?? []).map((d) => d.name);
  if (a.profile) return resolveNestedArtifact(ctx, a, dependsOn);
  if (a.kustomize) {
    const { local, files } = await readLocal(ctx, a, a.kustomize.path);
    if (files.size > 0) ctx.present.set(local, 'tree');
    return { name: a.name, kind: 'kustomize', def: a, dependsOn, localPath: local, files };
  }
  return resolveChartArtifact(ctx, a, dependsOn);
}

/** Every dependsOn names an artifact of the same profile. */
function checkDependencies(profile: string, artifacts: ResolvedArtifact[], names: Set<string>): void {
  for (const a of artifacts) {
    for (const d of a.dependsOn) {
      if (!names.has(d)) {
        throw new AppError(
          'PROFILE_INVALID',
          `artifact ${profile}/${a.name} depends on unknown artifact ${JSON.stringify(d)}`,
          { details: { artifact: a.name, dependsOn: d } },
        );
      }
    }
  }
}

/**
 * Reads a profile and, recursively, every profile it nests. A profile that (indirectly) nests itself is an
 * error naming the cycle; the same profile nested twice side by side is fine.
 */
export async function resolveProfile(
  repos: ProfileRepos,
  source: ProfileSource,
  stack: string[] = [],
): Promise<ResolvedProfile> {
  const { ref, path, key, label } = sourceIdentity(source);
  checkNesting(stack, key, label);
  const secretRef: SecretRef | undefined = source.secretRef;
  const commit = await repos.resolve(source.url, ref, secretRef);
  const profile = await readDefinition(repos, source, commit, path);
  const name = profile.name;
  const version = source.tag ? splitTag(source.tag).version : (source.branch ?? 'main');
  const ctx: ArtifactContext = {
    repos,
    url: source.url,
    commit,
    path,
    name,
    stack: [...stack, `${key}\n${label}`],
    present: new Map(),
  };
  const names = new Set<string>();
  const artifacts: ResolvedArtifact[] = [];
  // One at a time, in the file's order: the first bad artifact is the one reported.
  for (const a of profile.artifacts.map(toArtifactDef)) {
    checkArtifactShape(a, name, names);
    artifacts.push(await resolveArtifact(ctx, a));
  }
  const missing = checkProfileFiles(profile, (p) => ctx.present.get(p));
  if (missing.length) throw new AppError('PROFILE_INVALID', `profile ${name}: ${missing.join('; ')}`);
  checkDependencies(name, artifacts, names);
  return { name, version, url: source.url, ref, path, commit, artifacts };
}

export function treeOf(p: ResolvedProfile): ProfileTreeNode {
  return {
    name: p.name,
    url: p.url,
    ref: p.ref.tag ?? p.ref.branch ?? '',
    path: p.path,
    commit: p.commit,
    artifacts: p.artifacts.map((a) => ({
      name: a.name,
      kind: a.kind,
      ...(a.profile ? { profile: treeOf(a.profile) } : {}),
    })),
  };
}
