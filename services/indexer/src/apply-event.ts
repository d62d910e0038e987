import { createHash } from 'node:crypto';
import {
  checkCatalogSourceDocument,
  EVENT_TYPES,
  isEventOf,
  parseSourceId,
  sourceId,
  type CloudEvent,
  type FileError,
  type SourceRef,
  type SourceStatus,
} from '@profiles/shared';
import type { Logger } from '@profiles/shared/runtime';
import type { CatalogWriter } from './catalog-writer.ts';
import { resolveInline, type Resolution } from './resolve-source.ts';
import { resolveRepositories, type RepoResolution } from './resolve-repositories.ts';
import type { ScannerDeps } from './git/repo-scanner.ts';

export interface ApplyDeps {
  writer: CatalogWriter;
  log: Logger;
  now?: () => string;
  /** Repository scanning; without it `spec.repositories` are not scanned. */
  scanner?: ScannerDeps;
  defaultPollSeconds?: number;
  /** Extends the ack deadline of the event being applied during long scans. */
  progress?: () => void;
  /** Stores the file errors of a snapshot (folder mode). */
  fileErrors?: (origin: string, errors: FileError[], seq: number) => Promise<void>;
}

/**
 * Applies one event of the sources stream to the catalog. `seq` is the event's JetStream stream sequence: it
 * orders all events of a source, so applying is idempotent and a stale event changes nothing.
 */
export async function applyEvent(deps: ApplyDeps, ev: CloudEvent, seq: number): Promise<void> {
  const now = deps.now ?? (() => new Date().toISOString());
  if (isEventOf(ev, EVENT_TYPES.sourceUpserted)) {
    const d = ev.data;
    await indexSource(deps, {
      ref: d.ref,
      seq,
      origin: d.origin,
      uid: d.uid,
      generation: d.generation,
      object: d.object,
      now: now(),
      refresh: false,
      observedAt: ev.time,
    });
    return;
  }
  if (isEventOf(ev, EVENT_TYPES.sourceRefresh)) {
    // A rescan of the stored object. It writes with the stored sequence, not its own, so that an upsert
    // published before it but not yet applied is not mistaken for a stale event.
    const stored = await deps.writer.load(ev.data.ref);
    if (!stored || stored.deleted || !stored.object) {
      deps.log.debug({ source: sourceId(ev.data.ref) }, 'refresh of an unknown source ignored');
      return;
    }
    const h = await deps.writer.meta(ev.data.ref);
    await indexSource(deps, {
      ref: ev.data.ref,
      seq: stored.seq,
      origin: h.origin,
      uid: h.uid || undefined,
      generation: h.generation ? Number(h.generation) : undefined,
      object: stored.object,
      now: now(),
      refresh: true,
      storedStatus: stored.status,
    });
    return;
  }
  if (isEventOf(ev, EVENT_TYPES.sourceDeleted)) {
    const out = await deps.writer.delete(ev.data.ref, seq, ev.data.uid);
    if (out.applied && out.changed)
      deps.log.info({ source: sourceId(ev.data.ref), seq }, `source ${sourceId(ev.data.ref)} removed`);
    return;
  }
  if (isEventOf(ev, EVENT_TYPES.sourcesSnapshot)) {
    if (ev.data.fileErrors) await deps.fileErrors?.(ev.data.origin, ev.data.fileErrors, seq);
    // Sources of this origin that the snapshot no longer lists were deleted while nobody watched.
    const listed = new Set(ev.data.refs.map(sourceId));
    for (const { id, seq: stored, observedAt } of await deps.writer.sourcesOf(ev.data.origin)) {
      if (listed.has(id) || stored > seq) continue;
      // Seen after the snapshot was taken: a lagging watcher replica's snapshot, stored after another
      // replica's upsert of a new source, must not remove that source. (Clocks of replicas are compared.)
      if (observedAt && observedAt > ev.time) continue;
      const ref = parseSourceId(id);
      if (!ref) continue;
      const out = await deps.writer.delete(ref, seq);
      if (out.applied && out.changed)
        deps.log.info(
          { source: id, seq },
          `source ${id} removed: absent from the ${ev.data.origin} snapshot`,
        );
    }
    return;
  }
  deps.log.warn({ type: ev.type, id: ev.id }, 'ignoring an event type the indexer does not handle');
}

interface IndexInput {
  ref: SourceRef;
  seq: number;
  origin: string;
  uid: string | undefined;
  generation: number | undefined;
  object: unknown;
  now: string;
  /** true for poll/webhook/manual rescans: nothing is written when nothing changed */
  refresh: boolean;
  storedStatus?: string;
  /** When the watcher saw the change (the event's time). */
  observedAt?: string;
}

async function indexSource(deps: ApplyDeps, x: IndexInput): Promise<void> {
  const objectJson = JSON.stringify(x.object);
  const specHash = createHash('sha256').update(objectJson).digest('hex');
  const check = checkCatalogSourceDocument(x.object);
  let status: SourceStatus;
  let resolution: Resolution | undefined;
  let repos: RepoResolution | undefined;
  if (!check.ok) {
    status = {
      ready: false,
      reason: 'InvalidSource',
      message: check.reason,
      profiles: 0,
      versions: 0,
      entryErrors: [],
    };
  } else {
    resolution = resolveInline(check.ref, check.document, x.now);
    if ((check.document.spec.repositories ?? []).length > 0) {
      if (deps.scanner) {
        repos = await resolveRepositories(
          {
            scanner: deps.scanner,
            defaultIntervalSeconds: deps.defaultPollSeconds ?? 300,
            previous: (url) => deps.writer.repoTags(x.ref, url),
            now: x.now,
            ...(deps.progress ? { progress: deps.progress } : {}),
          },
          check.ref,
          check.document,
        );
        addRepositoryEntries(resolution, repos);
      } else {
        resolution.entryErrors.push({
          entry: 'spec.repositories',
          reason: 'repository scanning is disabled in this indexer',
        });
      }
    }
    status = statusOf(resolution);
    if (repos) status.scannedRepositories = repos.scanned;
  }
  if (x.generation !== undefined) status.observedGeneration = x.generation;
  if (x.refresh && repos && !repos.changed && JSON.stringify(status) === x.storedStatus) {
    deps.log.debug({ source: sourceId(x.ref) }, 'rescan found nothing new');
    return;
  }
  const pollAt = repos ? Date.now() + jitter((repos.intervalSeconds ?? 300) * 1000) : undefined;
  const out = await deps.writer.upsert({
    ref: x.ref,
    seq: x.seq,
    origin: x.origin,
    uid: x.uid,
    generation: x.generation,
    specHash,
    entries: resolution?.entries,
    status,
    object: objectJson,
    ...(check.ok ? { access: JSON.stringify(check.document.spec.access ?? null) } : {}),
    ...(x.observedAt ? { observedAt: x.observedAt } : {}),
    ...(repos ? { repos: repos.repos } : {}),
    pollAt,
    pollSeconds: repos?.intervalSeconds,
  });
  logOutcome(deps.log, x, status, out);
}

/**
 * The versions found in the source's repositories join its inline ones; one that an inline entry (or an
 * earlier repository) already provides is an entry error, not a second copy.
 */
function addRepositoryEntries(resolution: Resolution, repos: RepoResolution): void {
  const seen = new Set(resolution.entries.map((e) => `${e.name}@${e.version}`));
  for (const e of repos.entries) {
    const key = `${e.name}@${e.version}`;
    if (seen.has(key)) {
      resolution.entryErrors.push({
        entry: `${e.url}@${e.tag}`,
        reason: `${key} is already provided by another entry of this source`,
      });
      continue;
    }
    seen.add(key);
    resolution.entries.push(e);
  }
  resolution.entryErrors.push(...repos.errors);
}

/** A change is logged (a warning when the source is not ready); an event that changed nothing, at debug. */
function logOutcome(
  log: Logger,
  x: IndexInput,
  status: SourceStatus,
  out: Awaited<ReturnType<CatalogWriter['upsert']>>,
): void {
  if (out.applied && out.changed) {
    (status.ready ? log.info.bind(log) : log.warn.bind(log))(
      {
        source: sourceId(x.ref),
        seq: x.seq,
        profiles: status.profiles,
        versions: status.versions,
        entryErrors: status.entryErrors,
      },
      `source ${sourceId(x.ref)}: ${status.message}`,
    );
  } else {
    log.debug(
      { source: sourceId(x.ref), seq: x.seq, outcome: out.applied ? 'unchanged' : out.reason },
      'source event changed nothing',
    );
  }
}

/** ±10% so that sources added together do not all rescan at the same moment. */
function jitter(ms: number): number {
  return Math.round(ms * (0.9 + Math.random() * 0.2));
}

export function statusOf(r: Resolution): SourceStatus {
  const profiles = new Set(r.entries.map((e) => e.name)).size;
  const versions = r.entries.length;
  const indexed = `indexed ${versions} version${versions === 1 ? '' : 's'} of ${profiles} profile${profiles === 1 ? '' : 's'}`;
  if (r.entryErrors.length === 0)
    return { ready: true, reason: 'Indexed', message: indexed, profiles, versions, entryErrors: [] };
  const first = r.entryErrors[0]!;
  const more = r.entryErrors.length > 1 ? ` (and ${r.entryErrors.length - 1} more)` : '';
  return {
    ready: false,
    reason: 'InvalidEntries',
    message: `${indexed}; ${r.entryErrors.length} invalid: ${first.entry}: ${first.reason}${more}`,
    profiles,
    versions,
    entryErrors: r.entryErrors,
  };
}
