import { posix } from 'node:path';
import {
  AppError,
  INSTALLATION_ID_ANNOTATION,
  INSTALLATION_TRAILER,
  TERMINAL_STATUSES,
  describeError,
  isAppError,
  isGreater,
  normalizeVersion,
  parseYaml,
  type InstallRequest,
  type InstallationDoc,
  type InstallationKeys,
  type Logger,
  type ProfileSource,
  type Redis,
} from '@profiles/shared';
import type { FluxValidator } from './flux-schemas.ts';
import type { GitEnv } from './git.ts';
import { mergeTrees } from './merge.ts';
import { providerFor } from './pr-providers.ts';
import type { ProfileRepos } from './profile-repos.ts';
import { renderInstallation, type Rendered } from './render.ts';
import { resolveProfile, splitTag, treeOf, type ResolvedProfile } from './resolve-tree.ts';
import type { SecretProvider } from './secrets.ts';
import { checkUrl, type UrlPolicy } from './url-policy.ts';
import type { Change, TargetRepos, Workspace } from './target-repo.ts';

export interface ProcessorDeps {
  redis: Redis;
  keys: InstallationKeys;
  repos: ProfileRepos;
  targets: TargetRepos;
  validator: FluxValidator;
  secrets: SecretProvider;
  gitEnv: GitEnv;
  log: Logger;
  owner: string;
  leaseMs: number;
  urlPolicy: UrlPolicy;
}

export type Outcome = 'done' | 'busy';

/**
 * Works on one install request by id. Effectively once: a finished request is not redone; one replica at a
 * time holds a lease on the id; a commit carries the id as a trailer, so a crash between push and status write
 * is found on redelivery instead of committing twice. Input problems end as `failed` with a reason; only
 * infrastructure errors (Redis) are thrown for redelivery.
 */
export class Processor {
  constructor(private readonly d: ProcessorDeps) {}

  private async doc(id: string): Promise<InstallationDoc | undefined> {
    const raw = await this.d.redis.get(this.d.keys.doc(id));
    return raw ? (JSON.parse(raw) as InstallationDoc) : undefined;
  }

  private async update(id: string, patch: Partial<InstallationDoc>): Promise<InstallationDoc> {
    const cur =
      (await this.doc(id)) ??
      ({ id, status: 'queued', createdAt: new Date().toISOString() } as InstallationDoc);
    const next = { ...cur, ...patch, updatedAt: new Date().toISOString() };
    await this.d.redis.set(this.d.keys.doc(id), JSON.stringify(next));
    return next;
  }

  async handle(id: string): Promise<Outcome> {
    const rawReq = await this.d.redis.get(this.d.keys.request(id));
    if (!rawReq) {
      this.d.log.error({ id }, 'install request not found in Redis; dropping the message');
      return 'done';
    }
    const req = JSON.parse(rawReq) as InstallRequest;
    const doc = await this.doc(id);
    if (doc && TERMINAL_STATUSES.includes(doc.status)) return 'done';
    const lease = this.d.keys.lease(id);
    if ((await this.d.redis.set(lease, this.d.owner, 'PX', this.d.leaseMs, 'NX')) !== 'OK') return 'busy';
    const renew = setInterval(() => {
      void this.d.redis.pexpire(lease, this.d.leaseMs).catch(() => undefined);
    }, this.d.leaseMs / 3);
    try {
      await this.update(id, { status: 'rendering', attempts: (doc?.attempts ?? 0) + 1 });
      try {
        const patch = await this.run(req);
        await this.update(id, patch);
      } catch (err) {
        if (!isAppError(err) && /redis|ECONNREFUSED|Connection is closed/i.test(describeError(err)))
          throw err;
        const e = isAppError(err) ? err : new AppError('INTERNAL', describeError(err));
        if (!isAppError(err)) this.d.log.error({ id, err }, 'install failed unexpectedly');
        await this.update(id, {
          status: 'failed',
          reason: e.message,
          code: e.code,
          ...(e.details?.findings ? { findings: e.details.findings as InstallationDoc['findings'] } : {}),
          ...(e.details?.conflicts ? { conflicts: e.details.conflicts as string[] } : {}),
        });
      }
      return 'done';
    } finally {
      clearInterval(renew);
      if ((await this.d.redis.get(lease)) === this.d.owner) await this.d.redis.del(lease);
    }
  }

  /** The new tag of an upgrade of a profile given by URL: `latest` looks at the repository's tags. */
  private async upgradeSource(req: InstallRequest): Promise<ProfileSource> {
    const src = req.profile;
    if (src.catalog || !req.upgrade || !src.tag) return src;
    const { folder } = splitTag(src.tag);
    const prefix = folder === '.' ? '' : `${folder}/`;
    const want = req.upgrade.version;
    if (want !== 'latest') {
      const v = normalizeVersion(want);
      if (!v) throw new AppError('INVALID_VERSION', `version ${JSON.stringify(want)} is not semver`);
      const tags = await this.d.repos.remoteTags(src.url, `${prefix}*`, src.secretRef);
      const tag = tags.find((t) => splitTag(t).folder === folder && splitTag(t).version === v);
      if (!tag) throw new AppError('VERSION_NOT_FOUND', `no tag for version ${v} of ${folder} in ${src.url}`);
      return { ...src, tag };
    }
    const tags = (await this.d.repos.remoteTags(src.url, `${prefix}*`, src.secretRef)).filter(
      (t) => splitTag(t).folder === folder && normalizeVersion(splitTag(t).version),
    );
    const newest = tags.reduce<string | undefined>(
      (best, t) => (!best || isGreater(splitTag(t).version, splitTag(best).version) ? t : best),
      undefined,
    );
    if (!newest) throw new AppError('VERSION_NOT_FOUND', `no versions of ${folder} found in ${src.url}`);
    return { ...src, tag: newest };
  }

  private render(
    profile: ResolvedProfile,
    req: InstallRequest,
    source: ProfileSource,
    id = req.id,
  ): Rendered {
    return renderInstallation(profile, { ...req, id, profile: source }, this.d.validator);
  }

  /** An upgrade by path: everything but the wanted version comes from the installation's own file. */
  private async fromRepository(req: InstallRequest): Promise<InstallRequest> {
    const path = req.upgrade!.path!.replace(/\/+$/, '');
    const file = posix.join(path, 'profile-installation.yaml');
    const hit = (await this.d.targets.find({ ...req.target, path }, 'profile-installation.yaml')).find(
      (f) => f.path === file,
    );
    if (!hit)
      throw new AppError('INSTALLATION_NOT_FOUND', `no ${file} in ${req.target.url} ${req.target.branch}`);
    const o = parseYaml(hit.content) as {
      metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
      spec?: {
        source?: { url?: string; tag?: string; branch?: string; path?: string };
        values?: InstallRequest['values'];
      };
    };
    const src = o?.spec?.source;
    if (!src?.url || (!src.tag && !src.branch)) {
      throw new AppError(
        'PROFILE_INVALID',
        `${file} names no profile source (spec.source.url and tag or branch)`,
      );
    }
    const from: ProfileSource = {
      url: src.url,
      ...(src.tag ? { tag: src.tag } : { branch: src.branch! }),
      ...(src.path ? { path: src.path } : {}),
      ...(req.profile.secretRef ? { secretRef: req.profile.secretRef } : {}),
    };
    return {
      ...req,
      name: posix.basename(path),
      namespace: o.metadata?.namespace ?? 'default',
      target: { ...req.target, path: posix.dirname(path) },
      values: req.values && Object.keys(req.values).length ? req.values : (o.spec?.values ?? {}),
      profile: from,
      upgrade: { ...req.upgrade!, from, of: o.metadata?.annotations?.[INSTALLATION_ID_ANNOTATION] ?? '' },
    };
  }

  async run(request: InstallRequest): Promise<Partial<InstallationDoc>> {
    const req =
      request.kind === 'upgrade' && request.upgrade?.path && !request.upgrade.from
        ? await this.fromRepository(request)
        : request;
    const source = req.kind === 'upgrade' ? await this.upgradeSource(req) : req.profile;
    const profile = await resolveProfile(this.d.repos, source);
    const rendered = this.render(profile, req, source);
    const profileInfo = {
      name: profile.name,
      version: profile.version,
      url: source.url,
      ref: source.tag ?? source.branch ?? '',
    };

    let prepare: (ws: Workspace) => Promise<Change>;
    let conflicts: string[] = [];
    let removed: string[] = [];
    if (req.kind === 'upgrade' && req.upgrade) {
      const from = req.upgrade.from ?? req.profile;
      const old = await resolveProfile(this.d.repos, from);
      const base = this.render(old, req, from, req.upgrade.of);
      // The installation's own file is ours to rewrite: it always takes the new rendering.
      const own = posix.join(rendered.dir, 'profile-installation.yaml');
      prepare = async (ws) => {
        const ours = await ws.readTree(rendered.dir);
        if (!ours.has(posix.join(rendered.dir, 'profile-installation.yaml'))) {
          throw new AppError(
            'INSTALLATION_NOT_FOUND',
            `no installation at ${rendered.dir} in ${req.target.url}`,
          );
        }
        if (ours.has(own)) base.files.set(own, ours.get(own)!);
        const m = await mergeTrees(base.files, ours, rendered.files, this.d.gitEnv);
        conflicts = m.conflicts;
        removed = m.removed;
        if (m.conflicts.length && !req.dryRun) {
          throw new AppError(
            'INSTALL_CONFLICT',
            `upgrade conflicts with edits in: ${m.conflicts.join(', ')}`,
            {
              details: { conflicts: m.conflicts },
            },
          );
        }
        return { dir: rendered.dir, files: m.files };
      };
    } else {
      prepare = async (ws) => {
        const existing = await ws.read(posix.join(rendered.dir, 'profile-installation.yaml'));
        const owner = existing ? installationIdOf(existing) : undefined;
        if ((existing && owner !== req.id) || (!existing && (await ws.list(rendered.dir)).length > 0)) {
          throw new AppError(
            'INSTALL_CONFLICT',
            `${rendered.dir} already exists in ${req.target.url} (${owner ? `installation ${owner}` : 'not an installation'})`,
          );
        }
        return { dir: rendered.dir, files: rendered.files };
      };
    }

    if (req.dryRun) {
      const d = await this.d.targets.diff(req.target, prepare);
      return {
        status: 'rendered',
        profile: profileInfo,
        files: d.files,
        removed: d.removed,
        conflicts,
        dryRun: { tree: treeOf(profile), diff: d.diff, findings: rendered.findings },
      };
    }
    if (rendered.findings.length) {
      throw new AppError(
        'RENDER_INVALID',
        `${rendered.findings.length} generated object(s) fail the Flux schemas: ${rendered.findings
          .slice(0, 3)
          .map((f) => `${f.object} ${f.message}`)
          .join('; ')}`,
        { details: { findings: rendered.findings } },
      );
    }
    const verb = req.kind === 'upgrade' ? 'Upgrade' : 'Install';
    const fileList = [...rendered.files.keys()];
    const message =
      `${verb} profile ${profile.name} ${profile.version} as ${req.namespace}/${req.name}\n\n` +
      `Source: ${source.url} ${profileInfo.ref}\nFiles: ${fileList.length} under ${rendered.dir}\n\n` +
      `${INSTALLATION_TRAILER}: ${req.id}\n`;

    if (req.mode === 'pull-request') {
      const pr = req.target.pullRequest;
      if (!pr) throw new AppError('BAD_REQUEST', 'pull-request mode needs target.pullRequest');
      const branch = `profiles/${req.name}-${req.id.slice(0, 8)}`;
      const pushed = await this.d.targets.pushBranch(req.target, branch, req.id, message, prepare);
      if (pushed.noChanges)
        return {
          status: 'committed',
          commit: '',
          files: pushed.files,
          profile: profileInfo,
          reason: 'no changes',
        };
      checkUrl(pr.apiUrl, this.d.urlPolicy, 'pull-request API', ['http', 'https']);
      const token = pr.secretRef ? (await this.d.secrets.get(pr.secretRef)).token : undefined;
      const opened = await providerFor(pr, token).ensure({
        head: branch,
        base: req.target.branch,
        title: `${verb} profile ${profile.name} ${profile.version} as ${req.name}`,
        body: prBody(req, profileInfo, fileList, removed, rendered.findings.length),
      });
      return {
        status: 'pr-opened',
        commit: pushed.commit,
        pullRequest: { url: opened.url, number: opened.number, branch },
        files: pushed.alreadyDone ? fileList : pushed.files,
        removed: pushed.removed.length ? pushed.removed : removed,
        profile: profileInfo,
      };
    }
    const c = await this.d.targets.commit(req.target, req.id, message, prepare);
    return {
      status: 'committed',
      commit: c.commit,
      files: c.alreadyDone ? fileList : c.files,
      removed: c.removed.length ? c.removed : removed,
      profile: profileInfo,
      ...(c.noChanges ? { reason: 'no changes: the repository already holds this rendering' } : {}),
    };
  }
}

export function installationIdOf(profileInstallationYaml: string): string | undefined {
  try {
    const o = parseYaml(profileInstallationYaml) as { metadata?: { annotations?: Record<string, string> } };
    return o?.metadata?.annotations?.[INSTALLATION_ID_ANNOTATION];
  } catch {
    return undefined;
  }
}

function prBody(
  req: InstallRequest,
  p: { name: string; version: string; url: string; ref: string },
  files: string[],
  removed: string[],
  findings: number,
): string {
  return [
    `Profile **${p.name}** version **${p.version}** (${p.url} \`${p.ref}\`) as \`${req.namespace}/${req.name}\`.`,
    '',
    `Validation: every generated Flux object validates against the CRD schemas (${findings} findings).`,
    '',
    `Files (${files.length}):`,
    ...files.map((f) => `- \`${f}\``),
    ...(removed.length ? ['', `Removed (${removed.length}):`, ...removed.map((f) => `- \`${f}\``)] : []),
    '',
    `${INSTALLATION_TRAILER}: ${req.id}`,
  ].join('\n');
}
