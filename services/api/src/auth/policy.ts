import { readFileSync } from 'node:fs';
import { AppError, normalizeRepoUrl, parseYaml, type InstallRequest } from '@profiles/shared';
import { matchesSubjects, type Identity } from './identity.ts';

/** One install rule: who (users/groups, `*`: any authenticated caller) may write where, with which secrets. */
export interface InstallRule {
  users?: string[];
  groups?: string[];
  /** Repository URLs (normalized; `*` matches any characters). */
  repositories: string[];
  /** Paths inside the repository (`*` matches any characters); absent: any path. */
  paths?: string[];
  /** Secret names the caller may name in secretRefs (target, pull request, profile); absent: none. */
  secretRefs?: string[];
  /** May install a profile that is listed in no catalog (a git URL given directly). */
  unlisted?: boolean;
}

export interface RefreshRule {
  users?: string[];
  groups?: string[];
  /** Source ids `namespace/name` (`*` matches any characters). */
  sources: string[];
}

export interface PolicyDocument {
  install?: InstallRule[];
  refresh?: RefreshRule[];
}

const glob = (patterns: readonly string[] | undefined, value: string) =>
  (patterns ?? []).some((p) =>
    new RegExp(
      `^${p
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    ).test(value),
  );

const forbidden = (message: string, details: Record<string, unknown>) =>
  new AppError('FORBIDDEN', message, { details });

/** What a target names, as the policy judges it. */
export interface WriteTarget {
  url: string;
  path: string;
  secretRefs: string[];
}

/** The target, path and every secretRef of an install request. */
export function targetOf(r: InstallRequest): WriteTarget {
  const names = [r.target.secretRef?.name, r.target.pullRequest?.secretRef?.name, r.profile.secretRef?.name];
  return { url: r.target.url, path: r.target.path, secretRefs: names.filter((n): n is string => !!n) };
}

/**
 * The write policy (AUTH_POLICY_FILE): which identities may install into which repositories and paths with
 * which secretRefs, who may install profiles listed in no catalog, who may refresh which sources. Without a
 * file nothing is allowed, except to the anonymous caller of an open API (npm start), which may do everything.
 * A refusal is a 403 naming the missing permission.
 */
export class WritePolicy {
  constructor(private readonly doc: PolicyDocument = {}) {}

  static fromFile(path: string | undefined): WritePolicy {
    if (!path) return new WritePolicy();
    const doc = parseYaml(readFileSync(path, 'utf8')) as PolicyDocument | null;
    const bad = (why: string) =>
      new AppError('CONFIG_INVALID', `AUTH_POLICY_FILE ${path}: ${why}`, {
        details: { variable: 'AUTH_POLICY_FILE' },
      });
    if (doc !== null && (typeof doc !== 'object' || Array.isArray(doc))) throw bad('expected a mapping');
    for (const [i, r] of (doc?.install ?? []).entries())
      if (!Array.isArray(r.repositories)) throw bad(`install[${i}].repositories must be a list`);
    for (const [i, r] of (doc?.refresh ?? []).entries())
      if (!Array.isArray(r.sources)) throw bad(`refresh[${i}].sources must be a list`);
    return new WritePolicy(doc ?? {});
  }

  private rules(id: Identity, t: { url: string; path: string }): InstallRule[] {
    const url = normalizeRepoUrl(t.url);
    const path = t.path.replace(/^\.\/?/, '').replace(/\/$/, '') || '.';
    return (this.doc.install ?? []).filter(
      (r) =>
        matchesSubjects(id, r) &&
        glob(r.repositories.map(normalizeRepoUrl), url) &&
        (r.paths === undefined || glob(r.paths, path)),
    );
  }

  /** May `id` write into the target (repository and path)? Used for reads of installations too. */
  allowsTarget(id: Identity, t: { url: string; path: string }): boolean {
    return !!id.open || this.rules(id, t).length > 0;
  }

  /** Throws a 403 unless `id` may write `target` with its secretRefs (and, `listed` false, an unlisted profile). */
  authorizeWrite(id: Identity, target: WriteTarget, listed: boolean): void {
    if (id.open) return;
    if (id.via === 'anonymous')
      throw new AppError('UNAUTHORIZED', 'installing needs an authenticated caller', {
        details: { parameter: 'Authorization' },
      });
    const rules = this.rules(id, target);
    if (rules.length === 0)
      throw forbidden(`${id.user} may not install into ${target.url} at path ${target.path}`, {
        permission: 'install',
        repository: target.url,
        path: target.path,
      });
    for (const name of target.secretRefs)
      if (!rules.some((r) => r.secretRefs?.includes(name)))
        throw forbidden(`${id.user} may not use secretRef ${JSON.stringify(name)} for ${target.url}`, {
          permission: 'secretRef',
          secretRef: name,
        });
    if (!listed && !rules.some((r) => r.unlisted))
      throw forbidden(`${id.user} may not install a profile that is listed in no catalog`, {
        permission: 'install-unlisted',
      });
  }

  /** Throws a 403 unless `id` may refresh the source. */
  authorizeRefresh(id: Identity, sourceId: string): void {
    if (id.open) return;
    if (!(this.doc.refresh ?? []).some((r) => matchesSubjects(id, r) && glob(r.sources, sourceId)))
      throw forbidden(
        `${id.via === 'anonymous' ? 'an anonymous caller' : id.user} may not refresh ${sourceId}`,
        {
          permission: 'refresh',
          catalog: sourceId,
        },
      );
  }
}
