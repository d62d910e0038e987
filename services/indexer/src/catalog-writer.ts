import { indexProfile, unindexProfile } from './search-index.ts';
import {
  bumpGeneration,
  compareVersionsDesc,
  EVENT_TYPES,
  makeEvent,
  normalizeRepoUrl,
  profileNameMember,
  sourceId,
  SUBJECTS,
  type CatalogEntry,
  type CatalogKeys,
  type CloudEvent,
  type Logger,
  type Redis,
  type RepoTagState,
  type SourceRef,
  type SourceStatus,
} from '@profiles/shared';

/**
 * Writes the catalog of one source to Redis in one MULTI/EXEC: the old entries of a source vanish in the same
 * step its new ones appear, and the events describing the change enter the outbox in that step too (so they
 * are published even if we crash right after). WATCH on the source's key makes concurrent writers of the same
 * source (other indexer replicas) retry; the stored JetStream sequence makes a stale event a no-op.
 *
 * Needs a connection of its own: WATCH is per connection, so writes are serialised here.
 */
export interface CatalogWriterDeps {
  redis: Redis;
  keys: CatalogKeys;
  log: Logger;
  /** CloudEvents `source` attribute of the events it emits. */
  eventSource?: string;
}

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
  /** Repositories of the source with their scanned tags; `changed: false` ones are not rewritten. */
  repos?: { url: string; tags: Map<string, RepoTagState>; changed: boolean }[];
  /** When the repositories are next rescanned (ms since epoch); undefined: never (no repositories). */
  pollAt?: number | undefined;
  pollSeconds?: number | undefined;
  /** The time of the event (when the watcher saw the change); a snapshot taken earlier does not delete it. */
  observedAt?: string;
}

export interface StoredSource {
  seq: number;
  object: unknown;
  status: string;
  repos: string[];
  deleted: boolean;
}

export type WriteOutcome =
  { applied: true; changed: boolean; events: CloudEvent[] } | { applied: false; reason: 'stale' };

interface OutboxItem {
  subject: string;
  event: CloudEvent;
}

const TOMBSTONE_TTL_SECONDS = 24 * 3600;

interface StoredIdentity {
  uid: string | null | undefined;
  generation: string | null | undefined;
  deleted: string | null | undefined;
  /** JSON list of the uids of earlier incarnations of this name (deleted, then created again). */
  retiredUids?: string | null | undefined;
}

const MAX_RETIRED_UIDS = 8;

function retiredList(json: string | null | undefined): string[] {
  try {
    const v: unknown = JSON.parse(json || '[]');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Kubernetes objects carry a uid and a generation. With several watcher replicas, a slow one may publish an
 * older generation after a newer one (a higher stream sequence, but older news), or an upsert of an object
 * that was deleted since: both are stale. Objects without a uid (folder mode) are ordered by sequence only.
 */
export function isStaleUpsert(
  stored: StoredIdentity,
  uid: string | undefined,
  generation: number | undefined,
): boolean {
  if (!uid) return false;
  if (retiredList(stored.retiredUids).includes(uid)) return true;
  if (stored.uid !== uid) return false;
  if (stored.deleted === '1') return true;
  return Number(stored.generation ?? 0) > (generation ?? 0);
}

function stripVolatile(json: string | undefined): string | undefined {
  if (json === undefined) return undefined;
  const { indexedAt: _ignored, ...rest } = JSON.parse(json) as CatalogEntry;
  return JSON.stringify(rest);
}

export class CatalogWriter {
  private chain: Promise<unknown> = Promise.resolve();
  /** Number of MULTI/EXEC transactions that changed the catalog (benchmarks and tests count them). */
  writes = 0;

  constructor(private readonly deps: CatalogWriterDeps) {}

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private event<T extends Parameters<typeof makeEvent>[0]>(
    type: T,
    data: Parameters<typeof makeEvent<T>>[2],
    subject: string,
  ): OutboxItem {
    return { subject, event: makeEvent(type, this.deps.eventSource ?? 'indexer', data, subject) };
  }

  upsert(u: SourceUpdate): Promise<WriteOutcome> {
    return this.serial(() =>
      this.withWatch(
        u.ref,
        u.seq,
        () => this.upsertOnce(u),
        (stored) => isStaleUpsert(stored, u.uid, u.generation),
      ),
    );
  }

  /** `uid`: the object the delete is about; a delete of another incarnation than the stored one is stale. */
  delete(ref: SourceRef, seq: number, uid?: string): Promise<WriteOutcome> {
    return this.serial(() =>
      this.withWatch(
        ref,
        seq,
        () => this.deleteOnce(ref, seq, uid),
        (stored) => !!uid && stored.deleted !== '1' && !!stored.uid && stored.uid !== uid,
      ),
    );
  }

  /** What is stored of a source, or undefined when it was never indexed. */
  async load(ref: SourceRef | string): Promise<StoredSource | undefined> {
    const h = await this.deps.redis.hgetall(this.deps.keys.source(ref));
    if (!h.seq) return undefined;
    return {
      seq: Number(h.seq),
      object: h.object ? JSON.parse(h.object) : undefined,
      status: h.status ?? '',
      repos: h.repos ? (JSON.parse(h.repos) as string[]) : [],
      deleted: h.deleted === '1',
    };
  }

  /** Who observed the source, and its Kubernetes identity. */
  async meta(ref: SourceRef): Promise<{ origin: string; uid: string; generation: string }> {
    const [origin, uid, generation] = await this.deps.redis.hmget(
      this.deps.keys.source(ref),
      'origin',
      'uid',
      'generation',
    );
    return { origin: origin ?? '', uid: uid ?? '', generation: generation ?? '' };
  }

  /** The scanned tags of one repository of a source, as the last scan left them. */
  async repoTags(ref: SourceRef, url: string): Promise<Map<string, RepoTagState>> {
    const h = await this.deps.redis.hgetall(this.deps.keys.repo(ref, url));
    return new Map(Object.entries(h).map(([tag, json]) => [tag, JSON.parse(json) as RepoTagState]));
  }

  /** Ids and stored sequence of the live sources of one origin (for snapshots). */
  async sourcesOf(origin: string): Promise<{ id: string; seq: number; observedAt?: string }[]> {
    const { redis, keys } = this.deps;
    const ids = await redis.smembers(keys.sources());
    const out: { id: string; seq: number; observedAt?: string }[] = [];
    for (const id of ids) {
      const [o, seq, observedAt] = await redis.hmget(keys.source(id), 'origin', 'seq', 'observedAt');
      if (o === origin) out.push({ id, seq: Number(seq ?? 0), ...(observedAt ? { observedAt } : {}) });
    }
    return out;
  }

  private async withWatch(
    ref: SourceRef,
    seq: number,
    attempt: () => Promise<WriteOutcome | null>,
    isStale: (stored: StoredIdentity) => boolean = () => false,
  ): Promise<WriteOutcome> {
    const { redis, keys } = this.deps;
    for (let i = 0; i < 50; i++) {
      await redis.watch(keys.source(ref));
      const [seqField, uid, generation, deleted, retiredUids] = await redis.hmget(
        keys.source(ref),
        'seq',
        'uid',
        'generation',
        'deleted',
        'retiredUids',
      );
      const stored = Number(seqField ?? 0);
      if (stored > seq || isStale({ uid, generation, deleted, retiredUids })) {
        await redis.unwatch();
        return { applied: false, reason: 'stale' };
      }
      const result = await attempt();
      if (result) return result;
      // EXEC returned null: another writer touched this source between WATCH and EXEC. Read again.
    }
    throw new Error(`could not write source ${sourceId(ref)}: too much contention`);
  }

  private async upsertOnce(u: SourceUpdate): Promise<WriteOutcome | null> {
    const { redis, keys } = this.deps;
    const id = sourceId(u.ref);
    const prevStatus = await redis.hget(keys.source(id), 'status');
    const wasLive = (await redis.sismember(keys.sources(), id)) === 1;
    const oldProfiles = await redis.smembers(keys.sourceProfiles(id));
    const outbox: OutboxItem[] = [];
    const tx = redis.multi();
    let changed = false;

    if (u.entries) {
      const byProfile = new Map<string, CatalogEntry[]>();
      for (const e of u.entries) byProfile.set(e.name, [...(byProfile.get(e.name) ?? []), e]);
      for (const profile of oldProfiles) {
        if (byProfile.has(profile)) continue;
        const old = await redis.hgetall(keys.profile(id, profile));
        for (const [version, json] of Object.entries(old)) {
          const e = JSON.parse(json) as CatalogEntry;
          outbox.push(
            this.event(
              EVENT_TYPES.versionRemoved,
              { catalog: u.ref, profile, version, tag: e.tag },
              SUBJECTS.catalogProfile(u.ref, profile),
            ),
          );
        }
        tx.del(keys.profile(id, profile), keys.profileOrder(id, profile));
        tx.zrem(keys.profileNames(), profileNameMember(profile, id));
        unindexProfile(
          tx,
          keys,
          profileNameMember(profile, id),
          await redis.smembers(keys.searchMemberKeys(profileNameMember(profile, id))),
        );
        changed = true;
      }
      for (const [profile, list] of byProfile) {
        const old = await redis.hgetall(keys.profile(id, profile));
        const fields: Record<string, string> = {};
        let profileChanged = false;
        for (const e of list) {
          const json = JSON.stringify(e);
          const before = old[e.version];
          if (before !== undefined && stripVolatile(before) === stripVolatile(json)) {
            fields[e.version] = before; // unchanged: keep its indexedAt
            continue;
          }
          fields[e.version] = json;
          profileChanged = true;
          const data = {
            catalog: u.ref,
            profile,
            version: e.version,
            tag: e.tag,
            ...(e.revision ? { revision: e.revision } : {}),
          };
          outbox.push(
            this.event(
              before === undefined ? EVENT_TYPES.versionAdded : EVENT_TYPES.versionMoved,
              data,
              SUBJECTS.catalogProfile(u.ref, profile),
            ),
          );
        }
        for (const [version, json] of Object.entries(old)) {
          if (fields[version] !== undefined) continue;
          profileChanged = true;
          const e = JSON.parse(json) as CatalogEntry;
          outbox.push(
            this.event(
              EVENT_TYPES.versionRemoved,
              { catalog: u.ref, profile, version, tag: e.tag },
              SUBJECTS.catalogProfile(u.ref, profile),
            ),
          );
        }
        if (!profileChanged && oldProfiles.includes(profile)) continue;
        changed = true;
        const order = Object.keys(fields).sort(compareVersionsDesc);
        tx.del(keys.profile(id, profile));
        tx.hset(keys.profile(id, profile), fields);
        tx.set(keys.profileOrder(id, profile), JSON.stringify(order));
        tx.zadd(keys.profileNames(), 0, profileNameMember(profile, id));
        const member = profileNameMember(profile, id);
        indexProfile(
          tx,
          keys,
          member,
          Object.values(fields).map((j) => JSON.parse(j) as CatalogEntry),
          await redis.smembers(keys.searchMemberKeys(member)),
          Date.now(),
        );
      }
      if (changed || !wasLive) {
        tx.del(keys.sourceProfiles(id));
        if (byProfile.size > 0) tx.sadd(keys.sourceProfiles(id), ...byProfile.keys());
      }
    }

    if (u.repos) {
      const prevRepos = JSON.parse((await redis.hget(keys.source(id), 'repos')) || '[]') as string[];
      const now = new Set(u.repos.map((r) => r.url));
      for (const url of prevRepos) {
        if (now.has(url)) continue;
        tx.del(keys.repo(id, url));
        tx.srem(keys.repoSources(normalizeRepoUrl(url)), id);
      }
      for (const r of u.repos) {
        tx.sadd(keys.repoSources(normalizeRepoUrl(r.url)), id);
        if (!r.changed) continue;
        tx.del(keys.repo(id, r.url));
        if (r.tags.size > 0)
          tx.hset(
            keys.repo(id, r.url),
            Object.fromEntries([...r.tags].map(([t, st]) => [t, JSON.stringify(st)])),
          );
      }
      tx.hset(keys.source(id), 'repos', JSON.stringify([...now]));
    }
    if (u.pollAt !== undefined) tx.zadd(keys.pollSchedule(), u.pollAt, id);
    if (u.pollSeconds !== undefined) tx.hset(keys.source(id), 'pollSeconds', String(u.pollSeconds));
    else if (u.repos) tx.zrem(keys.pollSchedule(), id);
    if (u.object !== undefined) tx.hset(keys.source(id), 'object', u.object);

    const statusJson = JSON.stringify(u.status);
    const statusChanged = statusJson !== prevStatus;
    const fields: Record<string, string> = { seq: String(u.seq), specHash: u.specHash };
    if (u.observedAt) fields.observedAt = u.observedAt;
    // A new incarnation of the name (another uid): the old uid is retired, so a late event about it is stale.
    const [storedUid, storedRetired] = await redis.hmget(keys.source(id), 'uid', 'retiredUids');
    const uidChanged = !!u.uid && !!storedUid && storedUid !== u.uid;
    if (uidChanged)
      fields.retiredUids = JSON.stringify(
        [...retiredList(storedRetired), storedUid].slice(-MAX_RETIRED_UIDS),
      );
    if (changed || statusChanged || !wasLive || uidChanged) {
      Object.assign(fields, {
        namespace: u.ref.namespace,
        name: u.ref.name,
        origin: u.origin,
        uid: u.uid ?? '',
        generation: u.generation === undefined ? '' : String(u.generation),
        status: statusJson,
        indexedAt: new Date().toISOString(),
        deleted: '0',
      });
      const result = {
        ref: u.ref,
        origin: u.origin,
        ...(u.uid ? { uid: u.uid } : {}),
        ...(u.generation !== undefined ? { generation: u.generation } : {}),
        profiles: u.status.profiles,
        versions: u.status.versions,
        entryErrors: u.status.entryErrors,
        message: u.status.message,
        ready: u.status.ready,
        reason: u.status.reason,
        ...(u.status.scannedRepositories
          ? { scannedRepositories: u.status.scannedRepositories as unknown as Record<string, unknown>[] }
          : {}),
      };
      outbox.push(
        this.event(
          u.status.ready ? EVENT_TYPES.sourceIndexed : EVENT_TYPES.sourceFailed,
          result,
          SUBJECTS.catalogSource(u.ref),
        ),
      );
    }
    tx.hset(keys.source(id), fields);
    tx.persist(keys.source(id));
    if (!wasLive) {
      tx.sadd(keys.sources(), id);
      tx.sadd(keys.sourceNames(u.ref.name), id);
    }
    const any = changed || statusChanged || !wasLive || uidChanged;
    if (any) bumpGeneration(tx, keys, id);
    for (const item of outbox) tx.rpush(keys.outbox(), JSON.stringify(item));
    const res = await tx.exec();
    if (res === null) return null;
    for (const [err] of res) if (err) throw err;
    if (any) this.writes++;
    return { applied: true, changed: any, events: outbox.map((o) => o.event) };
  }

  private async deleteOnce(ref: SourceRef, seq: number, uid?: string): Promise<WriteOutcome | null> {
    const { redis, keys } = this.deps;
    const id = sourceId(ref);
    const [storedUid, retiredUids] = await redis.hmget(keys.source(id), 'uid', 'retiredUids');
    const wasLive = (await redis.sismember(keys.sources(), id)) === 1;
    const profiles = await redis.smembers(keys.sourceProfiles(id));
    const outbox: OutboxItem[] = [];
    const tx = redis.multi();
    for (const profile of profiles) {
      const old = await redis.hgetall(keys.profile(id, profile));
      for (const [version, json] of Object.entries(old)) {
        const e = JSON.parse(json) as CatalogEntry;
        outbox.push(
          this.event(
            EVENT_TYPES.versionRemoved,
            { catalog: ref, profile, version, tag: e.tag },
            SUBJECTS.catalogProfile(ref, profile),
          ),
        );
      }
      tx.del(keys.profile(id, profile), keys.profileOrder(id, profile));
      tx.zrem(keys.profileNames(), profileNameMember(profile, id));
      unindexProfile(
        tx,
        keys,
        profileNameMember(profile, id),
        await redis.smembers(keys.searchMemberKeys(profileNameMember(profile, id))),
      );
    }
    for (const url of JSON.parse((await redis.hget(keys.source(id), 'repos')) || '[]') as string[]) {
      tx.del(keys.repo(id, url));
      tx.srem(keys.repoSources(normalizeRepoUrl(url)), id);
    }
    tx.zrem(keys.pollSchedule(), id);
    tx.del(keys.sourceProfiles(id));
    tx.srem(keys.sources(), id);
    tx.srem(keys.sourceNames(ref.name), id);
    // Keep a tombstone with the sequence, so a redelivered older upsert cannot bring the source back.
    tx.del(keys.source(id));
    // The tombstone keeps the uid: an upsert of that (deleted) object arriving late is stale.
    tx.hset(keys.source(id), {
      namespace: ref.namespace,
      name: ref.name,
      seq: String(seq),
      uid: uid ?? storedUid ?? '',
      deleted: '1',
      ...(retiredUids ? { retiredUids } : {}),
    });
    tx.expire(keys.source(id), TOMBSTONE_TTL_SECONDS);
    if (wasLive) {
      outbox.push(this.event(EVENT_TYPES.sourceRemoved, { ref }, SUBJECTS.catalogSource(ref)));
      bumpGeneration(tx, keys, id);
    }
    for (const item of outbox) tx.rpush(keys.outbox(), JSON.stringify(item));
    const res = await tx.exec();
    if (res === null) return null;
    for (const [err] of res) if (err) throw err;
    if (wasLive) this.writes++;
    return { applied: true, changed: wasLive, events: outbox.map((o) => o.event) };
  }
}
