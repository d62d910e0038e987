import { posix } from 'node:path';
import {
  AppError,
  checkTargetPath,
  isGreater,
  normalizeVersion,
  type ArtifactValuesFrom,
  type InstallLayout,
  type InstallRequest,
  type InstallationDoc,
  type ProfileSource,
} from '@profiles/shared';
import { inSpanSync, redactUrl } from '@profiles/shared/runtime';
import type { FluxValidator } from './flux-schemas.ts';
import type { GitAccess } from '@profiles/shared/git';
import {
  RECORD_FILE,
  checkNameFree,
  installationIdOf,
  parseRecord,
  type InstallationRecord,
  withoutId,
} from './installation-record.ts';
import { mergeTrees, resolveConflicts } from './merge.ts';
import type { ObjectNameIndex } from './object-names.ts';
import type { ProfileRepos } from './profile-repos.ts';
import { renderInstallation as renderUntraced, type Rendered } from './render.ts';
import { resolveProfile, splitTag, type ResolvedArtifact, type ResolvedProfile } from './resolve-tree.ts';
import type { TargetRepos } from './target-repo.ts';
import type { Change, Workspace } from './workspace.ts';

/** Rendering as a span of the install's trace, named for the profile, version and repository. */
function renderInstallation(
  profile: ResolvedProfile,
  req: Parameters<typeof renderUntraced>[1],
  validator: FluxValidator,
): Rendered {
  const attributes = {
    'profiles.profile': profile.name,
    'profiles.version': profile.version,
    'profiles.repository': redactUrl(profile.url),
  };
  return inSpanSync('installer render profile', attributes, () => renderUntraced(profile, req, validator));
}

/**
 * Plans of installs and upgrades: what to render, and the `prepare` step that decides the change on a synced
 * checkout of the target repository (conflict checks see the branch head as it is when the change is written).
 */
export interface PlanDeps {
  repos: ProfileRepos;
  targets: TargetRepos;
  validator: FluxValidator;
  /** Its `base` env runs the merges. */
  access: GitAccess;
  /** The generated names of the installations in target repositories (clashes are refused). */
  objectNames: ObjectNameIndex;
}

/**
 * The source an upgrade renders: a catalog upgrade names it (the API resolved the catalog version); otherwise
 * the recorded source's tag folder at the wanted version (`latest`: the newest tag). A branch stays a branch.
 */
async function upgradeSource(d: PlanDeps, req: InstallRequest, rec: ProfileSource): Promise<ProfileSource> {
  if (req.profile.catalog) return req.profile;
  if (!rec.tag) return rec;
  const { folder } = splitTag(rec.tag);
  const prefix = folder === '.' ? '' : `${folder}/`;
  const want = req.upgrade!.version;
  const v = want === 'latest' ? undefined : normalizeVersion(want);
  if (want !== 'latest' && !v)
    throw new AppError('INVALID_VERSION', `version ${JSON.stringify(want)} is not semver`);
  const tags = (await d.repos.remoteTags(rec.url, `${prefix}*`, rec.secretRef)).filter(
    (t) => splitTag(t).folder === folder && normalizeVersion(splitTag(t).version),
  );
  const tag = v
    ? tags.find((t) => splitTag(t).version === v)
    : tags.reduce<string | undefined>(
        (best, t) => (!best || isGreater(splitTag(t).version, splitTag(best).version) ? t : best),
        undefined,
      );
  if (!tag) {
    throw new AppError(
      'VERSION_NOT_FOUND',
      v
        ? `no tag for version ${v} of ${folder} in ${rec.url}`
        : `no versions of ${folder} found in ${rec.url}`,
    );
  }
  const catalog = rec.catalog ? { ...rec.catalog, version: splitTag(tag).version } : undefined;
  const { catalog: _, ...plain } = rec;
  return { ...plain, tag, ...(catalog ? { catalog } : {}) };
}

export async function planInstall(d: PlanDeps, req: InstallRequest): Promise<Plan> {
  const profile = await resolveProfile(d.repos, req.profile);
  const rendered = renderInstallation(profile, req, d.validator);
  const state: PlanState = { conflicts: [], removed: [], unchanged: false };
  const prepare = async (ws: Workspace): Promise<Change> => {
    const existing = await ws.read(posix.join(rendered.dir, RECORD_FILE));
    const owner = existing ? installationIdOf(existing) : undefined;
    if ((existing && owner !== req.id) || (!existing && (await ws.list(rendered.dir)).length > 0)) {
      throw new AppError(
        'INSTALL_CONFLICT',
        `${rendered.dir} already exists in ${req.target.url} (${owner ? `installation ${owner}` : 'not an installation'})`,
      );
    }
    await checkNameFree(ws, rendered.dir, req.name, req.namespace);
    await d.objectNames.checkFree(ws, rendered.dir, rendered.objects);
    return { dir: rendered.dir, files: rendered.files };
  };
  return { req, source: req.profile, profile, rendered, prepare, state };
}

/**
 * An upgrade starts from what the repository records at the branch head (source, values, names, id),
 * whatever id or path the request names: the base is that record rendered again, ours the folder, theirs
 * the wanted version with the request's values (or the recorded ones when it gives none).
 */
export async function planUpgrade(d: PlanDeps, request: InstallRequest): Promise<Plan> {
  const up = request.upgrade!;
  if (up.conflicts?.mode === 'markers' && request.mode !== 'pull-request') {
    throw new AppError(
      'REQUEST_FIELD_INVALID',
      'conflicts.mode markers needs mode pull-request: conflict markers are never written onto the target branch',
      { details: { parameter: 'conflicts.mode' } },
    );
  }
  const rec = await readRecord(d, request);
  const { dir } = rec;
  const file = posix.join(dir, RECORD_FILE);
  const secretRef = request.profile.secretRef;
  const from: ProfileSource = { ...rec.source, ...(secretRef ? { secretRef } : {}) };
  const target = {
    ...request.target,
    path: posix.dirname(dir),
    ...((request.target.fluxSource ?? rec.fluxSource)
      ? { fluxSource: request.target.fluxSource ?? rec.fluxSource }
      : {}),
  };
  const req: InstallRequest = {
    ...request,
    name: rec.name,
    namespace: rec.namespace,
    target,
    values: up.values ?? rec.values,
    patches: up.patches ?? rec.patches,
    valuesFrom: up.valuesFrom ?? rec.valuesFrom,
    upgrade: { ...up, of: rec.id, from },
  };
  const source = await upgradeSource(d, req, from);
  const [old, profile] = await Promise.all([resolveProfile(d.repos, from), resolveProfile(d.repos, source)]);
  if (!rec.id && !up.adopt) {
    throw new AppError(
      'INSTALL_CONFLICT',
      `${file} was not written by this installer (pctl, or by hand: it has no installation id); upgrade with adopt: true to rewrite ${dir} in this layout (edits in it are replaced)`,
      { details: { parameter: 'adopt' } },
    );
  }
  req.layout = layoutOf(up, rec);
  fitOptions(req, rec, profile);
  const baseTarget = { ...target, ...(rec.fluxSource ? { fluxSource: rec.fluxSource } : {}) };
  const base = renderInstallation(
    old,
    {
      ...req,
      id: rec.id,
      target: baseTarget,
      values: rec.values,
      patches: rec.patches,
      valuesFrom: rec.valuesFrom,
      layout: rec.layout,
      profile: from,
    },
    d.validator,
  );
  const rendered = renderInstallation(profile, { ...req, profile: source }, d.validator);
  const state: PlanState = { conflicts: [], removed: [], unchanged: false };
  const prepare = mergeStep(d, req, rec, base, rendered, state);
  return { req, source, profile, rendered, prepare, state };
}

/**
 * An upgrade keeps the recorded layout: another one would rename every object (Flux deletes and recreates
 * them). Adopting an installation this service did not write may choose (`pctl` keeps pctl's names).
 */
function layoutOf(up: NonNullable<InstallRequest['upgrade']>, rec: InstallationRecord): InstallLayout {
  if (up.adopt && !rec.id) return up.layout ?? 'profiles';
  if (up.layout && up.layout !== rec.layout) {
    throw new AppError(
      'REQUEST_FIELD_INVALID',
      `layout: ${rec.dir} is recorded in layout ${rec.layout}; an upgrade keeps it (another layout renames every object)`,
      { details: { parameter: 'layout' } },
    );
  }
  return rec.layout;
}

/** The installation record at the branch head of the folder an upgrade names (by id: path and name). */
async function readRecord(d: PlanDeps, request: InstallRequest): Promise<InstallationRecord> {
  const up = request.upgrade!;
  const dir = checkTargetPath(
    up.path ?? posix.join(request.target.path || '.', request.name),
    up.path ? 'path' : 'target.path',
  );
  const file = posix.join(dir, RECORD_FILE);
  const content = await d.targets.readFile(request.target, file);
  if (content === undefined) {
    throw new AppError(
      'INSTALLATION_NOT_FOUND',
      `no ${file} in ${request.target.url} ${request.target.branch}`,
    );
  }
  return parseRecord(dir, content);
}

/**
 * The per-artifact options of the wanted version: pctl's --config-map becomes explicit valuesFrom (once, when
 * nothing else was recorded or given), and recorded options of artifacts the version no longer has go with
 * those artifacts (options given with the request must fit).
 */
function fitOptions(req: InstallRequest, rec: InstallationRecord, profile: ResolvedProfile): void {
  const up = req.upgrade!;
  if (rec.configMap && !up.valuesFrom && !Object.keys(rec.valuesFrom).length) {
    req.valuesFrom = configMapValues(profile, rec.configMap);
  }
  const keys = new Set(leaves(profile).keys());
  const keep = <T>(m: Record<string, T> | undefined) =>
    Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => keys.has(k)));
  if (!up.values) req.values = keep(req.values);
  if (!up.patches) req.patches = keep(req.patches);
  if (!up.valuesFrom) req.valuesFrom = keep(req.valuesFrom);
}

/**
 * The upgrade's change, decided on the synced checkout: a three-way merge of the base, the folder and the
 * new rendering, conflicts resolved as the request chose. The record is checked unchanged since planning.
 */
function mergeStep(
  d: PlanDeps,
  req: InstallRequest,
  rec: InstallationRecord,
  base: Rendered,
  rendered: Rendered,
  state: PlanState,
): (ws: Workspace) => Promise<Change> {
  const { dir } = rec;
  const file = posix.join(dir, RECORD_FILE);
  return async (ws: Workspace): Promise<Change> => {
    const now = await ws.read(file);
    if (now === undefined) throw new AppError('INSTALLATION_NOT_FOUND', `no ${file} in ${req.target.url}`);
    if (now !== rec.content) throw new RecordMoved();
    const ours = await ws.readTree(dir);
    await d.objectNames.checkFree(ws, dir, rendered.objects);
    // The record itself is ours to rewrite: it always takes the new rendering. Adopting, the base is the
    // folder itself: the result is exactly the new rendering.
    const m = await mergeTrees(
      req.upgrade?.adopt && !rec.id ? ours : new Map([...base.files, [file, ours.get(file)!]]),
      ours,
      rendered.files,
      d.access.base,
    );
    const { unresolved, resolved } = resolveConflicts(m, req.upgrade?.conflicts);
    state.conflicts = unresolved;
    state.conflictHunks = m.hunks.filter((h) => unresolved.includes(h.file));
    state.resolved = resolved;
    state.removed = m.removed;
    if (unresolved.length && !req.dryRun) {
      throw new AppError('INSTALL_CONFLICT', `upgrade conflicts with edits in: ${unresolved.join(', ')}`, {
        details: { conflicts: unresolved, conflictHunks: state.conflictHunks },
      });
    }
    state.unchanged =
      sameFiles(m.files, ours, file) && withoutId(m.files.get(file)) === withoutId(ours.get(file));
    return { dir, files: state.unchanged ? ours : m.files };
  };
}

/** Every leaf artifact of a profile tree by its key (the chain joined by `/`, as values are keyed). */
function leaves(profile: ResolvedProfile): Map<string, ResolvedArtifact> {
  const out = new Map<string, ResolvedArtifact>();
  const walk = (p: ResolvedProfile, prefix: string[]) => {
    for (const a of p.artifacts) {
      if (a.profile) walk(a.profile, [...prefix, a.name]);
      else out.set([...prefix, a.name].join('/'), a);
    }
  };
  walk(profile, []);
  return out;
}

/** pctl's --config-map: `{kind: ConfigMap, name, valuesKey: <artifact name>}` on every chart artifact. */
function configMapValues(profile: ResolvedProfile, name: string): ArtifactValuesFrom {
  const out: ArtifactValuesFrom = {};
  for (const [k, a] of leaves(profile)) {
    if (a.kind === 'chart') out[k] = [{ kind: 'ConfigMap', name, valuesKey: a.name }];
  }
  return out;
}

/** Thrown when the installation record moved between planning and writing: the upgrade is planned again. */
export class RecordMoved extends Error {}

export interface PlanState {
  /** Conflicts left unresolved (a dry run lists them; a real upgrade fails on them). */
  conflicts: string[];
  /** Their conflicting regions (InstallationDoc.conflictHunks). */
  conflictHunks?: NonNullable<InstallationDoc['conflictHunks']>;
  resolved?: NonNullable<InstallationDoc['resolved']>;
  removed: string[];
  /** The merge changes nothing but the id annotation of the record: the folder is left as it is. */
  unchanged: boolean;
}

export interface Plan {
  req: InstallRequest;
  source: ProfileSource;
  profile: ResolvedProfile;
  rendered: Rendered;
  prepare: (ws: Workspace) => Promise<Change>;
  state: PlanState;
}

function sameFiles(a: Map<string, Buffer>, b: Map<string, Buffer>, except: string): boolean {
  const keys = new Set([...a.keys(), ...b.keys()]);
  keys.delete(except);
  for (const k of keys) {
    const x = a.get(k);
    const y = b.get(k);
    if (!x || !y || !x.equals(y)) return false;
  }
  return true;
}
