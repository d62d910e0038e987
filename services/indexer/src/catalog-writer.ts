import {
  planDelete,
  planUpsert,
  PLANNED_FIELDS,
  retiredList,
  type CatalogPlan,
  type OutboxItem,
  type SourceUpdate,
  type StoredCatalog,
  type StoredProfile,
} from './catalog-plan.ts';
import { coalesce, scripted } from './redis-commands.ts';
import {
  AppError,
  profileNameMember,
  readSourceState,
  sourceId,
  type SourceField,
  sourceRepos,
  sourceStateOf,
  type CatalogKeys,
  type CloudEvent,
  type RepoTagState,
  type SourceRef,
  type SourceState,
} from '@profiles/shared';
import { inSpan, type Logger, type Redis } from '@profiles/shared/runtime';
import type { ChainableCommander } from 'ioredis';

export type { SourceUpdate } from './catalog-plan.ts';

export interface CatalogWriterDeps {
  redis: Redis;
  keys: CatalogKeys;
  log: Logger;
  /** CloudEvents `source` attribute of the events it emits. */
  eventSource?: string;
  /**
   * false: plan each change of a key as a command of its own and send each as planned, one per call (the
   * reference the batched form is tested against). Default: plan the search keys' additions grouped by key
   * (`SearchAdditions`), coalesce the rest of the plan (`coalesce` in redis-commands.ts) into far fewer
   * commands, carried by few script calls (`scripted`).
   */
  batched?: boolean;
  /** The clock (ms since epoch) of indexedAt and last-change scores; tests set it to compare writers. */
  now?: () => number;
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

type StoredIdentity = Partial<Pick<SourceState, 'uid' | 'generation' | 'deleted' | 'retiredUids'>>;

/**
 * Kubernetes objects carry a uid and a generation. With several watcher replicas, a slow one may publish an
 * older generation after a newer one (a higher stream sequence, but older news), or an upsert of an object
 * that was deleted since: both are stale. Objects without a uid (folder mode) are ordered by sequence only.
 */
export function isStaleUpsert(
  stored: { [F in keyof StoredIdentity]?: string | null },
  uid: string | undefined,
  generation: number | undefined,
): boolean {
  if (!uid) return false;
  if (retiredList(stored.retiredUids).includes(uid)) return true;
  if (stored.uid !== uid) return false;
  if (stored.deleted === '1') return true;
  return Number(stored.generation ?? 0) > (generation ?? 0);
}

/**
 * Writes the catalog of one source to Redis in one MULTI/EXEC: the old entries of a source vanish in the same
 * step its new ones appear, and the events describing the change enter the outbox in that step too (so they
 * are published even if we crash right after). WATCH on the source's key makes concurrent writers of the same
 * source (other indexer replicas) retry; the stored JetStream sequence makes a stale event a no-op. Each write
 * WATCHes and reads what Redis holds about the source in one pipelined round trip (two when the change drops
 * profiles), plans the change (`catalog-plan.ts`, no Redis) and commits the plan: two round trips in all, where
 * a change's latency is mostly round trips waiting on a loaded Redis.
 *
 * Needs a connection of its own: WATCH is per connection, so writes are serialised here.
 */
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

  /** The catalog events made inside the span carry it: their outbox publish continues this trace. */
  upsert(u: SourceUpdate): Promise<WriteOutcome> {
    return inSpan(
      'indexer write catalog to redis',
      { attributes: { 'profiles.source': sourceId(u.ref) } },
      () =>
        this.serial(() =>
          this.withWatch(
            u.ref,
            u.seq,
            new Set(u.entries?.map((e) => e.name)),
            (stored) => planUpsert(stored, u, this.context()),
            (identity) => isStaleUpsert(identity, u.uid, u.generation),
          ),
        ),
    );
  }

  /** `uid`: the object the delete is about; a delete of another incarnation than the stored one is stale. */
  delete(ref: SourceRef, seq: number, uid?: string): Promise<WriteOutcome> {
    return inSpan(
      'indexer delete catalog source from redis',
      { attributes: { 'profiles.source': sourceId(ref) } },
      () =>
        this.serial(() =>
          this.withWatch(
            ref,
            seq,
            new Set(),
            (stored) => planDelete(stored, { ref, seq, uid }, this.context()),
            (identity) => !!uid && identity.deleted !== '1' && !!identity.uid && identity.uid !== uid,
          ),
        ),
    );
  }

  /** What is stored of a source, or undefined when it was never indexed. */
  async load(ref: SourceRef | string): Promise<StoredSource | undefined> {
    const h = await readSourceState(this.deps.redis, this.deps.keys, ref, [
      'seq',
      'object',
      'status',
      'repos',
      'deleted',
    ]);
    if (!h.seq) return undefined;
    return {
      seq: Number(h.seq),
      object: h.object ? JSON.parse(h.object) : undefined,
      status: h.status ?? '',
      repos: sourceRepos(h),
      deleted: h.deleted === '1',
    };
  }

  /** Who observed the source, and its Kubernetes identity. */
  async meta(ref: SourceRef): Promise<{ origin: string; uid: string; generation: string }> {
    const h = await readSourceState(this.deps.redis, this.deps.keys, ref, ['origin', 'uid', 'generation']);
    return { origin: h.origin ?? '', uid: h.uid ?? '', generation: h.generation ?? '' };
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
      const h = await readSourceState(redis, keys, id, ['origin', 'seq', 'observedAt']);
      if (h.origin === origin)
        out.push({ id, seq: Number(h.seq ?? 0), ...(h.observedAt ? { observedAt: h.observedAt } : {}) });
    }
    return out;
  }

  private context() {
    return {
      keys: this.deps.keys,
      eventSource: this.deps.eventSource ?? 'indexer',
      now: (this.deps.now ?? Date.now)(),
      grouped: this.deps.batched !== false,
    };
  }

  /**
   * Reads under WATCH, plans and commits, again while another writer touched the source between the read and
   * EXEC. `names`: the profiles the change names (read with the source, in the same round trip).
   */
  private async withWatch(
    ref: SourceRef,
    seq: number,
    names: Set<string>,
    plan: (stored: StoredCatalog) => CatalogPlan,
    isStale: (identity: StoredIdentity) => boolean,
  ): Promise<WriteOutcome> {
    for (let i = 0; i < 50; i++) {
      const { stored, seq: storedSeq, identity } = await this.readStored(ref, names);
      if (storedSeq > seq || isStale(identity)) {
        await this.deps.redis.unwatch();
        return { applied: false, reason: 'stale' };
      }
      const result = await this.commit(plan(stored));
      if (result) return result;
      // EXEC returned null: another writer touched this source between WATCH and EXEC. Read again.
    }
    // UNAVAILABLE, not EVENT_INVALID: the event is fine and is delivered again after a backoff.
    throw new AppError('UNAVAILABLE', `could not write source ${sourceId(ref)}: too much contention`);
  }

  /**
   * WATCHes the source and reads what planning needs, in one round trip for a change that keeps its profiles:
   * the source's fields (its stored sequence and identity too), whether it is live, its profiles, whether it
   * has a search snapshot, and for each profile in `names` its versions, search keys and last change. A second
   * round trip reads the stored profiles the change does not name (those it drops), when there are any.
   */
  private async readStored(
    ref: SourceRef,
    names: Set<string>,
  ): Promise<{ stored: StoredCatalog; seq: number; identity: StoredIdentity }> {
    const { redis, keys } = this.deps;
    const id = sourceId(ref);
    const named = [...names];
    const first = redis
      .pipeline()
      .watch(keys.source(id))
      .hmget(keys.source(id), ...READ_FIELDS)
      .sismember(keys.sources(), id)
      .smembers(keys.sourceProfiles(id))
      .exists(keys.searchSnapshot(id));
    const [, fields, live, listed, snapshot, ...read] = results(
      await profileReads(first, keys, id, named).exec(),
    ) as [unknown, (string | null)[], number, string[], number, ...unknown[]];
    const dropped = listed.filter((p) => !names.has(p));
    const read2 =
      dropped.length > 0 ? results(await profileReads(redis.pipeline(), keys, id, dropped).exec()) : [];
    const each = new Map([...profilesOf(named, read), ...profilesOf(dropped, read2)]);
    // In the order planning always saw them: the stored profiles first, then those the change adds.
    const profiles = new Map([...new Set([...listed, ...names])].map((p) => [p, each.get(p)!]));
    const state = sourceStateOf(READ_FIELDS, fields);
    const { seq, generation, deleted, uid, retiredUids } = state;
    return {
      stored: {
        source: state, // planning reads its PLANNED_FIELDS
        live: live === 1,
        profileNames: listed,
        profiles,
        snapshot: snapshot === 1,
      },
      seq: Number(seq ?? 0),
      identity: { generation, deleted, uid, retiredUids },
    };
  }

  private async commit(plan: CatalogPlan): Promise<WriteOutcome | null> {
    const plain = this.deps.batched === false;
    const res = await this.deps.redis.multi(plain ? plan.commands : scripted(coalesce(plan.commands))).exec();
    if (res === null) return null;
    for (const [err] of res) if (err) throw err;
    if (plan.changed) this.writes++;
    return { applied: true, changed: plan.changed, events: plan.events.map((o: OutboxItem) => o.event) };
  }
}

/** What the writer reads of the source hash: what planning needs, the stored sequence and the identity. */
const READ_FIELDS = [
  ...new Set([...PLANNED_FIELDS, 'seq', 'generation', 'deleted', 'uid', 'retiredUids'] as const),
] satisfies SourceField[];

/** Adds to `pipe` the reads of each profile's versions and search keys, then their last changes. */
function profileReads(pipe: ChainableCommander, keys: CatalogKeys, id: string, profiles: string[]) {
  for (const profile of profiles) {
    pipe.hgetall(keys.profile(id, profile));
    pipe.smembers(keys.searchMemberKeys(profileNameMember(profile, id)));
  }
  // Last changes of the profiles, kept in the search snapshot for those the update leaves alone.
  if (profiles.length > 0)
    pipe.zmscore(keys.searchUpdated(), ...profiles.map((p) => profileNameMember(p, id)));
  return pipe;
}

/** The answers of `profileReads`, by profile. */
function profilesOf(profiles: string[], read: unknown[]): Map<string, StoredProfile> {
  const updated = (read[2 * profiles.length] ?? []) as (string | null)[];
  return new Map(
    profiles.map((profile, i) => [
      profile,
      {
        versions: read[2 * i] as Record<string, string>,
        searchKeys: read[2 * i + 1] as string[],
        updated: Number(updated[i] ?? 0),
      },
    ]),
  );
}

/** The replies of a pipeline; the first error is thrown. */
function results(res: [Error | null, unknown][] | null): unknown[] {
  // An assert, not a user's error: ioredis answers null only for a MULTI whose WATCH failed, never a pipeline.
  if (!res) throw new Error('pipeline was not executed');
  return res.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
