import { posix } from 'node:path';
import {
  AppError,
  checkTargetPath,
  isGreater,
  inSpanSync,
  normalizeVersion,
  redactUrl,
  type InstallRequest,
  type ProfileSource,
} from '@profiles/shared';
import type { FluxValidator } from './flux-schemas.ts';
import type { GitEnv } from './git.ts';
import {
  RECORD_FILE,
  checkNameFree,
  installationIdOf,
  parseRecord,
  withoutId,
} from './installation-record.ts';
import { mergeTrees } from './merge.ts';
import type { ProfileRepos } from './profile-repos.ts';
import { renderInstallation as renderUntraced, type Rendered } from './render.ts';
import { resolveProfile, splitTag, type ResolvedProfile } from './resolve-tree.ts';
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
    'profiles.version': profile.version ?? '',
    'profiles.repository': redactUrl(req.profile.url),
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
  gitEnv: GitEnv;
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
  const rec = parseRecord(dir, content);
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
      profile: from,
    },
    d.validator,
  );
  const rendered = renderInstallation(profile, { ...req, profile: source }, d.validator);
  const state: PlanState = { conflicts: [], removed: [], unchanged: false };
  const prepare = async (ws: Workspace): Promise<Change> => {
    const now = await ws.read(file);
    if (now === undefined) throw new AppError('INSTALLATION_NOT_FOUND', `no ${file} in ${req.target.url}`);
    if (now !== rec.content) throw new RecordMoved();
    const ours = await ws.readTree(dir);
    // The record itself is ours to rewrite: it always takes the new rendering.
    const m = await mergeTrees(
      new Map([...base.files, [file, ours.get(file)!]]),
      ours,
      rendered.files,
      d.gitEnv,
    );
    state.conflicts = m.conflicts;
    state.removed = m.removed;
    if (m.conflicts.length && !req.dryRun) {
      throw new AppError('INSTALL_CONFLICT', `upgrade conflicts with edits in: ${m.conflicts.join(', ')}`, {
        details: { conflicts: m.conflicts },
      });
    }
    state.unchanged =
      sameFiles(m.files, ours, file) && withoutId(m.files.get(file)) === withoutId(ours.get(file));
    return { dir, files: state.unchanged ? ours : m.files };
  };
  return { req, source, profile, rendered, prepare, state };
}

/** Thrown when the installation record moved between planning and writing: the upgrade is planned again. */
export class RecordMoved extends Error {}

export interface PlanState {
  conflicts: string[];
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
