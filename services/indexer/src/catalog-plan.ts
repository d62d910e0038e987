import { indexProfile, SearchAdditions, unindexProfile } from './search-index.ts';
import { fieldArgs, type RedisCommand } from './redis-commands.ts';
import { sourceResult } from './source-result.ts';
import { unchangedEntry } from './unchanged-entry.ts';
import { encodeOutboxEntry, type OutboxItem } from './outbox-entry.ts';
import {
  bumpGenerationCommand,
  compareVersionsDesc,
  encodeSearchSnapshot,
  EVENT_TYPES,
  makeEvent,
  normalizeRepoUrl,
  profileNameMember,
  searchDocument,
  sourceFields,
  sourceId,
  sourceRepos,
  SUBJECTS,
  type CatalogEntry,
  type CatalogKeys,
  type RepoTagState,
  type SnapshotProfile,
  type SourceRef,
  type SourceField,
  type SourceState,
  type SourceStatus,
} from '@profiles/shared';

/**
 * Plans the change of one source's catalog: from what Redis holds about the source (read before, under WATCH)
 * and the source's new content to the Redis commands of one MULTI/EXEC and the events describing the change.
 * Pure: no Redis, so every decision (which versions were added, moved or removed, what to index, when the
 * generation moves) is tested without a server; `CatalogWriter` reads, plans and commits.
 */
export interface SourceUpdate {
  ref: SourceRef;
  seq: number;
  origin: string;
  uid?: string | undefined;
  generation?: number | undefined;
  specHash: string;
  /** New entries; undefined keeps the entries already indexed (e.g. the document is invalid). */
  entries: CatalogEntry[] | undefined;
  status: SourceStatus;
  /** The object as received (JSON), kept so refreshes can rescan without a new event. */
  object?: string;
  /** JSON of the source's `spec.access` (`null`: none), read by the API; a change alone moves the generation. */
  access?: string;
  /** Repositories of the source with their scanned tags; `changed: false` ones are not rewritten. */
  repos?: { url: string; tags: Map<string, RepoTagState>; changed: boolean }[];
  /** When the repositories are next rescanned (ms since epoch); undefined: never (no repositories). */
  pollAt?: number | undefined;
  pollSeconds?: number | undefined;
  /** The time of the event (when the watcher saw the change); a snapshot taken earlier does not delete it. */
  observedAt?: string;
}

export interface SourceDeletion {
  ref: SourceRef;
  seq: number;
  /** The object the delete is about (its uid), when known. */
  uid?: string | undefined;
}

/** The fields of the source hash that planning reads. */
export const PLANNED_FIELDS = [
  'status',
  'repos',
  'uid',
  'retiredUids',
  'access',
] as const satisfies readonly SourceField[];

/** What Redis holds about one source before the change. */
export interface StoredCatalog {
  source: Partial<Pick<SourceState, (typeof PLANNED_FIELDS)[number]>>;
  /** The source is in `sources` (indexed and not deleted). */
  live: boolean;
  /** Members of `source-profiles`. */
  profileNames: string[];
  /** Each listed profile and each profile of the update: its versions and the search keys it is in. */
  profiles: Map<string, StoredProfile>;
  /** false: the source has no search snapshot yet (an older catalog), so the next update writes one. */
  snapshot?: boolean;
}

export interface StoredProfile {
  /** version → entry JSON */
  versions: Record<string, string>;
  /** Members of `idx:member-keys:{member}`. */
  searchKeys: string[];
  /** Its score in `idx:updated` (ms), kept in the search snapshot while the profile does not change. */
  updated?: number;
}

export type { OutboxItem } from './outbox-entry.ts';

export interface CatalogPlan {
  /** The transaction: the additions to the shared term list (`SearchAdditions.head`) first. */
  commands: RedisCommand[];
  events: OutboxItem[];
  /** The catalog changed (the generation moves). */
  changed: boolean;
}

export interface PlanContext {
  keys: CatalogKeys;
  /** CloudEvents `source` attribute of the events. */
  eventSource: string;
  /** ms since epoch */
  now: number;
  /** false: a command per addition to a shared search key (the unbatched reference); default: grouped. */
  grouped?: boolean;
}

const TOMBSTONE_TTL_SECONDS = 24 * 3600;
const MAX_RETIRED_UIDS = 8;

export function retiredList(json: string | null | undefined): string[] {
  try {
    const v: unknown = JSON.parse(json || '[]');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** The commands and events of one plan, as they are collected. */
class Builder {
  readonly commands: RedisCommand[] = [];
  readonly events: OutboxItem[] = [];
  readonly search: SearchAdditions;
  /** The time of the change: every event of one write has it (so the outbox entry stores it once). */
  private readonly time: string;
  constructor(readonly ctx: PlanContext) {
    this.time = new Date(ctx.now).toISOString();
    this.search = new SearchAdditions(ctx.keys, this.commands, ctx.grouped !== false);
  }

  event<T extends Parameters<typeof makeEvent>[0]>(
    type: T,
    data: Parameters<typeof makeEvent<T>>[2],
    subject: string,
  ): void {
    const event = makeEvent(type, this.ctx.eventSource, data, subject);
    event.time = this.time;
    this.events.push({ subject, event });
  }

  /** Ends the plan: the grouped search additions, the generation bump (when the catalog changed), then its
   * events, one outbox entry. */
  finish(changed: boolean, id: string): CatalogPlan {
    for (const c of this.search.commands()) this.commands.push(c);
    if (changed) this.commands.push(bumpGenerationCommand(this.ctx.keys, id));
    if (this.events.length > 0)
      this.commands.push(['rpush', this.ctx.keys.outboxEntries(), encodeOutboxEntry(this.events)]);
    return {
      commands: [...this.search.head(), ...this.commands],
      events: this.events,
      changed,
    };
  }
}

export function planUpsert(stored: StoredCatalog, u: SourceUpdate, ctx: PlanContext): CatalogPlan {
  const b = new Builder(ctx);
  const id = sourceId(u.ref);
  const { keys } = ctx;
  const changed = u.entries ? planProfiles(b, stored, u.ref, u.entries) : false;
  if (u.repos) planRepos(b, stored, id, u.repos);
  if (u.pollAt !== undefined) b.commands.push(['zadd', keys.pollSchedule(), u.pollAt, id]);
  if (u.pollSeconds !== undefined)
    b.commands.push([
      'hset',
      keys.source(id),
      ...fieldArgs(sourceFields({ pollSeconds: String(u.pollSeconds) })),
    ]);
  else if (u.repos) b.commands.push(['zrem', keys.pollSchedule(), id]);
  if (u.object !== undefined)
    b.commands.push(['hset', keys.source(id), ...fieldArgs(sourceFields({ object: u.object }))]);
  const accessChanged = u.access !== undefined && u.access !== stored.source.access;
  if (accessChanged)
    b.commands.push(['hset', keys.source(id), ...fieldArgs(sourceFields({ access: u.access! }))]);
  const any = planSourceFields(b, stored, u, changed || accessChanged);
  if (!stored.live) {
    b.commands.push(['sadd', keys.sources(), id]);
    b.commands.push(['sadd', keys.sourceNames(u.ref.name), id]);
  }
  return b.finish(any, id);
}

/** Writes the versions of every profile of the update; returns whether any profile changed. */
function planProfiles(b: Builder, stored: StoredCatalog, ref: SourceRef, entries: CatalogEntry[]): boolean {
  const { keys, now } = b.ctx;
  const id = sourceId(ref);
  const byProfile = new Map<string, CatalogEntry[]>();
  // In place: copying the list per entry was quadratic in a profile's versions (thousands of tags).
  for (const e of entries) (byProfile.get(e.name) ?? byProfile.set(e.name, []).get(e.name)!).push(e);
  let changed = false;
  const listed = new Set(stored.profileNames);
  for (const profile of stored.profileNames) {
    if (byProfile.has(profile)) continue;
    removeProfile(b, stored, ref, profile);
    changed = true;
  }
  const snapshot: SnapshotProfile[] = [];
  for (const [profile, list] of byProfile) {
    const old = stored.profiles.get(profile);
    const fields = versionFields(b, ref, profile, list, old?.versions ?? {});
    const member = profileNameMember(profile, id);
    const order = Object.keys(fields.values).sort(compareVersionsDesc);
    const all = [...fields.entries.values()];
    if (!fields.changed && listed.has(profile)) {
      const doc = searchDocument(all);
      if (doc) snapshot.push({ member, doc, updated: old?.updated ?? 0, versions: order });
      continue;
    }
    changed = true;
    if (old && Object.keys(old.versions).length > 0) b.commands.push(['del', keys.profile(id, profile)]);
    b.commands.push(['hset', keys.profile(id, profile), ...fieldArgs(fields.values)]);
    b.commands.push(['set', keys.profileOrder(id, profile), JSON.stringify(order)]);
    b.commands.push(['zadd', keys.profileNames(), 0, member]);
    // Every change moves the profile's last change, even two within one millisecond (or an indexer whose clock
    // is behind the last writer's): an API replica tells a changed profile from an unchanged one by it.
    const updated = Math.max(now, (old?.updated ?? 0) + 1);
    const doc = indexProfile(b.commands, keys, member, all, old?.searchKeys ?? [], updated, b.search);
    if (doc) snapshot.push({ member, doc, updated, versions: order });
  }
  if (changed || !stored.live) {
    if (stored.profileNames.length > 0) b.commands.push(['del', keys.sourceProfiles(id)]);
    if (byProfile.size > 0) b.commands.push(['sadd', keys.sourceProfiles(id), ...byProfile.keys()]);
  }
  if (changed || !stored.live || stored.snapshot === false)
    b.commands.push(['set', keys.searchSnapshot(id), encodeSearchSnapshot(snapshot, byProfile.size)]);
  return changed;
}

/**
 * The new `version → entry JSON` of one profile, with an event for each version added, moved or removed. An
 * entry equal to the stored one but for `indexedAt` keeps the stored JSON (and its indexedAt).
 */
function versionFields(
  b: Builder,
  ref: SourceRef,
  profile: string,
  list: CatalogEntry[],
  old: Record<string, string>,
): { values: Record<string, string>; entries: Map<string, CatalogEntry>; changed: boolean } {
  const values: Record<string, string> = {};
  const entries = new Map<string, CatalogEntry>();
  const subject = SUBJECTS.catalogProfile(ref, profile);
  let changed = false;
  for (const e of list) {
    const json = JSON.stringify(e);
    const before = old[e.version];
    const kept = before === undefined ? undefined : unchangedEntry(e, json, before);
    if (kept) {
      values[e.version] = before!;
      entries.set(e.version, kept);
      continue;
    }
    values[e.version] = json;
    entries.set(e.version, e);
    changed = true;
    const data = {
      catalog: ref,
      profile,
      version: e.version,
      tag: e.tag,
      ...(e.revision ? { revision: e.revision } : {}),
    };
    b.event(before === undefined ? EVENT_TYPES.versionAdded : EVENT_TYPES.versionMoved, data, subject);
  }
  for (const [version, json] of Object.entries(old)) {
    if (values[version] !== undefined) continue;
    changed = true;
    const e = JSON.parse(json) as CatalogEntry;
    b.event(EVENT_TYPES.versionRemoved, { catalog: ref, profile, version, tag: e.tag }, subject);
  }
  return { values, entries, changed };
}

/** Takes one profile out of the catalog and its search indexes, with an event per version removed. */
function removeProfile(b: Builder, stored: StoredCatalog, ref: SourceRef, profile: string): void {
  const { keys } = b.ctx;
  const id = sourceId(ref);
  const old = stored.profiles.get(profile);
  for (const [version, json] of Object.entries(old?.versions ?? {})) {
    const e = JSON.parse(json) as CatalogEntry;
    b.event(
      EVENT_TYPES.versionRemoved,
      { catalog: ref, profile, version, tag: e.tag },
      SUBJECTS.catalogProfile(ref, profile),
    );
  }
  b.commands.push(['del', keys.profile(id, profile), keys.profileOrder(id, profile)]);
  b.commands.push(['zrem', keys.profileNames(), profileNameMember(profile, id)]);
  unindexProfile(b.commands, keys, profileNameMember(profile, id), old?.searchKeys ?? []);
}

function planRepos(
  b: Builder,
  stored: StoredCatalog,
  id: string,
  repos: NonNullable<SourceUpdate['repos']>,
): void {
  const { keys } = b.ctx;
  const now = new Set(repos.map((r) => r.url));
  for (const url of sourceRepos(stored.source)) {
    if (now.has(url)) continue;
    b.commands.push(['del', keys.repo(id, url)]);
    b.commands.push(['srem', keys.repoSources(normalizeRepoUrl(url)), id]);
  }
  for (const r of repos) {
    b.commands.push(['sadd', keys.repoSources(normalizeRepoUrl(r.url)), id]);
    if (!r.changed) continue;
    b.commands.push(['del', keys.repo(id, r.url)]);
    if (r.tags.size > 0)
      b.commands.push([
        'hset',
        keys.repo(id, r.url),
        ...[...r.tags].flatMap(([t, st]) => [t, JSON.stringify(st)]),
      ]);
  }
  b.commands.push(['hset', keys.source(id), ...fieldArgs(sourceFields({ repos: JSON.stringify([...now]) }))]);
}

/**
 * The source hash: sequence and spec hash always; identity, status and a source event when anything changed
 * (catalog, status, first indexing, another incarnation of the name). Returns whether anything changed.
 */
function planSourceFields(b: Builder, stored: StoredCatalog, u: SourceUpdate, changed: boolean): boolean {
  const id = sourceId(u.ref);
  const statusJson = JSON.stringify(u.status);
  const statusChanged = statusJson !== stored.source.status;
  const fields: Partial<SourceState> = { seq: String(u.seq), specHash: u.specHash };
  if (u.observedAt) fields.observedAt = u.observedAt;
  // A new incarnation of the name (another uid): the old uid is retired, so a late event about it is stale.
  const storedUid = stored.source.uid;
  const uidChanged = !!u.uid && !!storedUid && storedUid !== u.uid;
  if (uidChanged)
    fields.retiredUids = JSON.stringify(
      [...retiredList(stored.source.retiredUids), storedUid].slice(-MAX_RETIRED_UIDS),
    );
  const any = changed || statusChanged || !stored.live || uidChanged;
  if (any) {
    Object.assign(fields, {
      namespace: u.ref.namespace,
      name: u.ref.name,
      origin: u.origin,
      uid: u.uid ?? '',
      generation: u.generation === undefined ? '' : String(u.generation),
      status: statusJson,
      indexedAt: new Date(b.ctx.now).toISOString(),
      deleted: '0',
    } satisfies Partial<SourceState>);
    b.event(
      u.status.ready ? EVENT_TYPES.sourceIndexed : EVENT_TYPES.sourceFailed,
      sourceResult(u),
      SUBJECTS.catalogSource(u.ref),
    );
  }
  b.commands.push(['hset', b.ctx.keys.source(id), ...fieldArgs(sourceFields(fields))]);
  b.commands.push(['persist', b.ctx.keys.source(id)]);
  return any;
}

/**
 * A deletion: every profile leaves the catalog and the indexes, the repositories are forgotten, and the source
 * hash becomes a tombstone with the sequence and uid (24 h), so a redelivered older upsert, or a late upsert of
 * the deleted object, cannot bring the source back.
 */
export function planDelete(stored: StoredCatalog, d: SourceDeletion, ctx: PlanContext): CatalogPlan {
  const b = new Builder(ctx);
  const { keys } = ctx;
  const id = sourceId(d.ref);
  for (const profile of stored.profileNames) removeProfile(b, stored, d.ref, profile);
  for (const url of sourceRepos(stored.source)) {
    b.commands.push(['del', keys.repo(id, url)]);
    b.commands.push(['srem', keys.repoSources(normalizeRepoUrl(url)), id]);
  }
  b.commands.push(['zrem', keys.pollSchedule(), id]);
  b.commands.push(['del', keys.sourceProfiles(id)]);
  b.commands.push(['del', keys.searchSnapshot(id)]);
  b.commands.push(['srem', keys.sources(), id]);
  b.commands.push(['srem', keys.sourceNames(d.ref.name), id]);
  b.commands.push(['del', keys.source(id)]);
  const tombstone: Partial<SourceState> = {
    namespace: d.ref.namespace,
    name: d.ref.name,
    seq: String(d.seq),
    uid: d.uid ?? stored.source.uid ?? '',
    deleted: '1',
    ...(stored.source.retiredUids ? { retiredUids: stored.source.retiredUids } : {}),
  };
  b.commands.push(['hset', keys.source(id), ...fieldArgs(sourceFields(tombstone))]);
  b.commands.push(['expire', keys.source(id), TOMBSTONE_TTL_SECONDS]);
  if (stored.live) b.event(EVENT_TYPES.sourceRemoved, { ref: d.ref }, SUBJECTS.catalogSource(d.ref));
  return b.finish(stored.live, id);
}
