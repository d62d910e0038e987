import { posix } from 'node:path';
import {
  describeError,
  INSTALLATION_ID_ANNOTATION,
  INSTALLER_SUBJECTS,
  isAppError,
  isGreater,
  normalizeVersion,
  parseYaml,
  scanReply,
  scanRequest,
  type FoundInstallation,
  type InstallTarget,
  type RepositoryScan,
} from '@profiles/shared';
import type { NatsConnection, Subscription } from '@profiles/shared/runtime';
import type { ProfileRepos } from './profile-repos.ts';
import { splitTag } from './resolve-tree.ts';
import type { TargetRepos } from './target-repo.ts';

/**
 * Lists the installations in a GitOps repository (every profile-installation.yaml under the path) with the
 * newer versions of their profiles: the tags `<profile folder>/<semver>` of the profile repository.
 */
export async function findInstallations(
  targets: TargetRepos,
  repos: ProfileRepos,
  target: InstallTarget,
): Promise<RepositoryScan> {
  try {
    const found = await targets.find(target, 'profile-installation.yaml');
    const items: FoundInstallation[] = [];
    const tagCache = new Map<string, Promise<string[]>>();
    for (const f of found) {
      let o: any;
      try {
        o = parseYaml(f.content);
      } catch {
        continue;
      }
      const src = o?.spec?.source;
      if (o?.kind !== 'ProfileInstallation' || typeof src?.url !== 'string') continue;
      const ref: string = src.tag ?? src.branch ?? '';
      const { folder, version } = src.tag ? splitTag(src.tag) : { folder: src.path ?? '.', version: ref };
      let updates: string[] = [];
      if (src.tag && normalizeVersion(version)) {
        const prefix = folder === '.' ? '*' : `${folder}/*`;
        const key = `${src.url}|${prefix}`;
        if (!tagCache.has(key))
          tagCache.set(
            key,
            repos.remoteTags(src.url, prefix).catch(() => []),
          );
        updates = (await tagCache.get(key)!)
          .map((t) => splitTag(t))
          .filter((t) => t.folder === folder && normalizeVersion(t.version) && isGreater(t.version, version))
          .map((t) => t.version)
          .sort((a, b) => (isGreater(a, b) ? -1 : 1));
      }
      items.push({
        name: o.metadata?.name ?? posix.basename(posix.dirname(f.path)),
        namespace: o.metadata?.namespace ?? 'default',
        path: posix.dirname(f.path),
        ...(o.metadata?.annotations?.[INSTALLATION_ID_ANNOTATION]
          ? { installationId: o.metadata.annotations[INSTALLATION_ID_ANNOTATION] }
          : {}),
        profile: { url: src.url, ref, path: src.path ?? folder, version },
        availableUpdates: updates,
      });
    }
    return { items };
  } catch (err) {
    return { error: { code: isAppError(err) ? err.code : 'INTERNAL', message: describeError(err) } };
  }
}

/** Answers repository scans over core NATS (a queue group: any one replica answers each). */
export function serveScans(nc: NatsConnection, targets: TargetRepos, repos: ProfileRepos): Subscription {
  return nc.subscribe(INSTALLER_SUBJECTS.scan, {
    queue: INSTALLER_SUBJECTS.queueGroup,
    callback: (err, msg) => {
      if (err) return;
      void (async () => {
        let reply: RepositoryScan;
        try {
          reply = await findInstallations(targets, repos, scanRequest.decode(msg.data));
        } catch (e) {
          reply = { error: { code: 'BAD_REQUEST', message: describeError(e) } };
        }
        msg.respond(scanReply.encode(reply));
      })();
    },
  });
}
