import {
  AppError,
  INSTALLATION_TRAILER,
  TERMINAL_STATUSES,
  describeError,
  isAppError,
  isStoreFailure,
  type InstallRequest,
  type InstallationDoc,
  type InstallationKeys,
} from '@profiles/shared';
import {
  inSpan,
  publishFinalStatus,
  redactSecrets,
  type JetStreamClient,
  type Logger,
  type Redis,
} from '@profiles/shared/runtime';
import type { FluxValidator } from './flux-schemas.ts';
import type { GitAccess } from '@profiles/shared/git';
import type { ObjectNameIndex } from './object-names.ts';
import { planInstall, planUpgrade, RecordMoved, type Plan } from './plan.ts';
import { providerFor } from './pr-providers.ts';
import type { ProfileRepos } from './profile-repos.ts';
import { treeOf } from './resolve-tree.ts';
import type { TargetRepos } from './target-repo.ts';

export interface ProcessorDeps {
  redis: Redis;
  keys: InstallationKeys;
  repos: ProfileRepos;
  targets: TargetRepos;
  validator: FluxValidator;
  /** URL policy, secrets and git config of every repository and pull-request call. */
  access: GitAccess;
  objectNames: ObjectNameIndex;
  log: Logger;
  owner: string;
  leaseMs: number;
  /** Where final statuses are kept beside Redis (STREAMS.installStatus), so a Redis wipe loses none. */
  js: JetStreamClient;
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

  /** The stored request; one only its message still holds is stored again (with its status, queued). */
  private async request(id: string, carried?: InstallRequest): Promise<InstallRequest | undefined> {
    const raw = await this.d.redis.get(this.d.keys.request(id));
    if (raw) return JSON.parse(raw) as InstallRequest;
    if (!carried || carried.id !== id) return undefined;
    this.d.log.warn(
      { id },
      'install request missing in Redis (wiped or failed over); restored from its message',
    );
    const now = new Date().toISOString();
    const doc = { id, status: 'queued', requestedBy: carried.requestedBy, createdAt: now, updatedAt: now };
    await this.d.redis
      .multi()
      .set(this.d.keys.request(id), JSON.stringify(carried), 'NX')
      .set(this.d.keys.doc(id), JSON.stringify(doc), 'NX')
      .exec();
    return carried;
  }

  private update(id: string, patch: Partial<InstallationDoc>): Promise<InstallationDoc> {
    const attributes = { 'profiles.installation.id': id, 'profiles.installation.status': patch.status ?? '' };
    return inSpan('installer write install status', { attributes }, () => this.write(id, patch));
  }

  private async write(id: string, patch: Partial<InstallationDoc>): Promise<InstallationDoc> {
    const cur =
      (await this.doc(id)) ??
      ({ id, status: 'queued', createdAt: new Date().toISOString() } as InstallationDoc);
    const next = { ...cur, ...patch, updatedAt: new Date().toISOString() };
    await this.d.redis.set(this.d.keys.doc(id), JSON.stringify(next));
    return next;
  }

  /** `carried`: the request as its message holds it, for when Redis lost it (wiped, failed over). */
  async handle(id: string, carried?: InstallRequest): Promise<Outcome> {
    const req = await this.request(id, carried);
    if (!req) {
      this.d.log.error({ id }, 'install request not found in Redis nor in its message; dropping the message');
      return 'done';
    }
    const doc = await this.doc(id);
    if (doc && TERMINAL_STATUSES.includes(doc.status)) {
      // Redelivered after its status was written: the publish of the status may be what failed.
      await this.keep(doc, req);
      return 'done';
    }
    const lease = this.d.keys.lease(id);
    if ((await this.d.redis.set(lease, this.d.owner, 'PX', this.d.leaseMs, 'NX')) !== 'OK') return 'busy';
    const renew = setInterval(() => {
      void this.d.redis.pexpire(lease, this.d.leaseMs).catch(() => undefined);
    }, this.d.leaseMs / 3);
    try {
      await this.update(id, {
        status: 'rendering',
        attempts: (doc?.attempts ?? 0) + 1,
        startedAt: new Date().toISOString(),
      });
      let final: InstallationDoc;
      try {
        const patch = await this.run(req);
        final = await this.update(id, patch);
      } catch (err) {
        if (isStoreFailure(err)) throw err;
        const e = isAppError(err) ? err : new AppError('INTERNAL', describeError(err));
        if (!isAppError(err)) this.d.log.error({ id, err }, 'install failed unexpectedly');
        final = await this.update(id, {
          status: 'failed',
          // A URL in the message may carry a password (`https://user:pass@host`): never echoed.
          reason: redactSecrets(e.message),
          code: e.code,
          ...(e.details?.findings ? { findings: e.details.findings as InstallationDoc['findings'] } : {}),
          ...(e.details?.conflicts ? { conflicts: e.details.conflicts as string[] } : {}),
          ...(e.details?.conflictHunks
            ? { conflictHunks: e.details.conflictHunks as InstallationDoc['conflictHunks'] }
            : {}),
        });
      }
      // Outside the try above: a publish that fails is thrown for redelivery, not recorded as a failed install.
      await this.keep(final, req);
      return 'done';
    } finally {
      clearInterval(renew);
      if ((await this.d.redis.get(lease)) === this.d.owner) await this.d.redis.del(lease);
    }
  }

  /** Publishes a final status to JetStream, where the API finds it if Redis loses it. */
  private keep(doc: InstallationDoc, req: InstallRequest): Promise<void> {
    const attributes = { 'profiles.installation.id': doc.id, 'profiles.installation.status': doc.status };
    return inSpan('installer keep final install status', { attributes }, () =>
      publishFinalStatus(this.d.js, doc, req.target),
    );
  }

  async run(request: InstallRequest): Promise<Partial<InstallationDoc>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(request);
      } catch (err) {
        if (!(err instanceof RecordMoved)) throw err;
        if (attempt >= 3) {
          throw new AppError(
            'INSTALL_CONFLICT',
            'the installation changed in the repository while upgrading; retry',
          );
        }
      }
    }
  }

  private async once(request: InstallRequest): Promise<Partial<InstallationDoc>> {
    const plan =
      request.kind === 'upgrade' && request.upgrade
        ? await planUpgrade(this.d, request)
        : await planInstall(this.d, request);
    const { req, source, profile, rendered, prepare, state } = plan;
    const profileInfo = {
      name: profile.name,
      version: profile.version,
      url: source.url,
      ref: source.tag ?? source.branch ?? '',
    };
    if (req.dryRun) {
      const d = await this.d.targets.diff(req.target, prepare);
      return {
        status: 'rendered',
        profile: profileInfo,
        files: d.files,
        removed: d.removed,
        conflicts: state.conflicts,
        ...hunksOf(plan),
        ...resolvedOf(plan),
        ...notesOf(plan),
        dryRun: {
          tree: treeOf(profile),
          diff: d.diff,
          findings: rendered.findings,
          ...(rendered.notes.length ? { notes: rendered.notes } : {}),
          applies: state.conflicts.length === 0 && rendered.findings.length === 0,
        },
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
      `${INSTALLATION_TRAILER}: ${req.id}\n` +
      // Who asked, as the API authenticated them (control characters dropped: a name cannot add a trailer).
      (req.requestedBy ? `Requested-by: ${printable(req.requestedBy)}\n` : '');
    // What follows is the repository's part (its commit queue, or a branch and a pull request).
    const renderedAt = new Date().toISOString();
    if (req.mode === 'pull-request')
      return { ...(await this.pullRequest(plan, verb, message, profileInfo)), renderedAt };
    const c = await this.d.targets.commit(req.target, req.id, message, prepare);
    if (c.noChanges && state.unchanged) {
      return {
        renderedAt,
        status: 'unchanged',
        commit: c.commit,
        files: [],
        removed: [],
        profile: profileInfo,
        reason: UNCHANGED,
        ...notesOf(plan),
      };
    }
    return {
      renderedAt,
      status: 'committed',
      commit: c.commit,
      files: c.alreadyDone ? fileList : c.files,
      removed: c.removed.length ? c.removed : state.removed,
      profile: profileInfo,
      ...resolvedOf(plan),
      ...notesOf(plan),
      ...(c.noChanges ? { reason: 'no changes: the repository already holds this rendering' } : {}),
    };
  }

  /** Pull-request mode: push a branch, open (or find) the request; a failed provider call deletes the branch. */
  private async pullRequest(
    plan: Plan,
    verb: string,
    message: string,
    profileInfo: NonNullable<InstallationDoc['profile']>,
  ): Promise<Partial<InstallationDoc>> {
    const { req, rendered, prepare, state } = plan;
    const pr = req.target.pullRequest;
    if (!pr) throw new AppError('BAD_REQUEST', 'pull-request mode needs target.pullRequest');
    await this.d.access.reach(pr.apiUrl, 'pull-request API', ['http', 'https']);
    const fileList = [...rendered.files.keys()];
    const branch = `profiles/${req.name}-${req.id.slice(0, 8)}`;
    const pushed = await this.d.targets.pushBranch(req.target, branch, req.id, message, prepare);
    if (pushed.noChanges) {
      return state.unchanged
        ? { status: 'unchanged', commit: '', files: [], removed: [], profile: profileInfo, reason: UNCHANGED }
        : {
            status: 'committed',
            commit: '',
            files: pushed.files,
            profile: profileInfo,
            reason: 'no changes',
          };
    }
    let opened: { url: string; number: number | string };
    try {
      const token = pr.secretRef ? (await this.d.access.secret(pr.secretRef, pr.apiUrl)).token : undefined;
      opened = await providerFor(pr, token, this.d.access.lookup()).ensure({
        head: branch,
        base: req.target.branch,
        title: `${verb} profile ${profileInfo.name} ${profileInfo.version} as ${req.name}`,
        body: prBody(req, profileInfo, fileList, state, rendered.findings.length),
      });
    } catch (err) {
      await this.d.targets.deleteBranch(req.target, branch).catch(() => undefined);
      throw err;
    }
    return {
      status: 'pr-opened',
      commit: pushed.commit,
      pullRequest: { url: opened.url, number: opened.number, branch },
      files: pushed.alreadyDone ? fileList : pushed.files,
      removed: pushed.removed.length ? pushed.removed : state.removed,
      profile: profileInfo,
      ...resolvedOf(plan),
      ...notesOf(plan),
    };
  }
}

const UNCHANGED = 'nothing to change: the repository already holds this version with these values';

const resolvedOf = (plan: Plan) => (plan.state.resolved?.length ? { resolved: plan.state.resolved } : {});
const notesOf = (plan: Plan) => (plan.rendered.notes.length ? { notes: plan.rendered.notes } : {});
const hunksOf = (plan: Plan) =>
  plan.state.conflictHunks?.length ? { conflictHunks: plan.state.conflictHunks } : {};

function prBody(
  req: InstallRequest,
  p: { name: string; version: string; url: string; ref: string },
  files: string[],
  state: Plan['state'],
  findings: number,
): string {
  const removed = state.removed;
  const marked = (state.resolved ?? []).filter((r) => r.by === 'markers').map((r) => r.file);
  return [
    `Profile **${p.name}** version **${p.version}** (${p.url} \`${p.ref}\`) as \`${req.namespace}/${req.name}\`.`,
    '',
    `Validation: every generated Flux object validates against the CRD schemas (${findings} findings).`,
    '',
    `Files (${files.length}):`,
    ...files.map((f) => `- \`${f}\``),
    ...(removed.length ? ['', `Removed (${removed.length}):`, ...removed.map((f) => `- \`${f}\``)] : []),
    ...(marked.length
      ? ['', `**Resolve the conflict markers before merging** in:`, ...marked.map((f) => `- \`${f}\``)]
      : []),
    '',
    `${INSTALLATION_TRAILER}: ${req.id}`,
  ].join('\n');
}

/** Without control characters (a newline in a user name must not start another trailer). */
function printable(s: string): string {
  return [...s].filter((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f).join('');
}
