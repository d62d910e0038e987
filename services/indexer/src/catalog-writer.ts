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
  sourceRepos,
  sourceStateOf,
  type CatalogKeys,
  type CloudEvent,
  type RepoTagState,
  type SourceRef,
  type SourceState,
} from '@profiles/shared';
import { inSpan, type Logger, type Redis } from '@profiles/shared/runtime';

export type { SourceUpdate } from './catalog-plan.ts';

export interface CatalogWriterDeps {
  redis: Redis;
  keys: CatalogKeys;
  log: Logger;
  /** CloudEvents `source` attribute of the events it emits. */
  eventSource?: string;
  /**
   * false: send each planned command as planned, one per call (the reference the batched form is tested
   * against). Default: coalesce the plan (`coalesce` in redis-commands.ts) into far fewer commands, carried by
   * few script calls (`scripted`).
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
 * reads what Redis holds about the source (two pipelined round trips), plans the change (`catalog-plan.ts`, no
 * Redis) and commits the plan.
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
            async () => {
              const stored = await this.readStored(u.ref, new Set(u.entries?.map((e) => e.name)));
              return this.commit(planUpsert(stored, u, this.context()));
            },
            (stored) => isStaleUpsert(stored, u.uid, u.generation),
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
            async () => {
              const stored = await this.readStored(ref, new Set());
              return this.commit(planDelete(stored, { ref, seq, uid }, this.context()));
            },
            (stored) => !!uid && stored.deleted !== '1' && !!stored.uid && stored.uid !== uid,
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
    };
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
      const { seq: storedSeq, ...identity } = await readSourceState(redis, keys, ref, [
        'seq',
        'uid',
        'generation',
        'deleted',
        'retiredUids',
      ]);
      if (Number(storedSeq ?? 0) > seq || isStale(identity)) {
        await redis.unwatch();
        return { applied: false, reason: 'stale' };
      }
      const result = await attempt();
      if (result) return result;
      // EXEC returned null: another writer touched this source between WATCH and EXEC. Read again.
    }
    // UNAVAILABLE, not EVENT_INVALID: the event is fine and is delivered again after a backoff.
    throw new AppError('UNAVAILABLE', `could not write source ${sourceId(ref)}: too much contention`);
  }

  /**
   * Reads, in two pipelined round trips, what planning needs: the source's fields, whether it is live, its
   * profiles, whether it has a search snapshot, and for each of them and each profile in `names` its versions,
   * search keys and last change.
   */
  private async readStored(ref: SourceRef, names: Set<string>): Promise<StoredCatalog> {
    const { redis, keys } = this.deps;
    const id = sourceId(ref);
    const first = await redis
      .pipeline()
      .hmget(keys.source(id), ...PLANNED_FIELDS)
      .sismember(keys.sources(), id)
      .smembers(keys.sourceProfiles(id))
      .exists(keys.searchSnapshot(id))
      .exec();
    const [fields, live, listed, snapshot] = results(first) as [(string | null)[], number, string[], number];
    const all = [...new Set([...listed, ...names])];
    const pipe = redis.pipeline();
    for (const profile of all) {
      pipe.hgetall(keys.profile(id, profile));
      pipe.smembers(keys.searchMemberKeys(profileNameMember(profile, id)));
    }
    // Last changes of the profiles, kept in the search snapshot for those the update leaves alone.
    if (all.length > 0) pipe.zmscore(keys.searchUpdated(), ...all.map((p) => profileNameMember(p, id)));
    const read = results(all.length > 0 ? await pipe.exec() : []);
    const updated = (read[2 * all.length] ?? []) as (string | null)[];
    const profiles = new Map<string, StoredProfile>();
    all.forEach((profile, i) =>
      profiles.set(profile, {
        versions: read[2 * i] as Record<string, string>,
        searchKeys: read[2 * i + 1] as string[],
        updated: Number(updated[i] ?? 0),
      }),
    );
    return {
      source: sourceStateOf(PLANNED_FIELDS, fields),
      live: live === 1,
      profileNames: listed,
      profiles,
      snapshot: snapshot === 1,
    };
  }

  private async commit(plan: CatalogPlan): Promise<WriteOutcome | null> {
    const plain = this.deps.batched === false;
    // Under WATCH still: these touch only the term index, never the watched source key. Planned joined already
    // (`TermIndex`): nothing for coalescing to join.
    if (plan.ahead.length > 0)
      results(await this.deps.redis.pipeline(plain ? plan.ahead : scripted(plan.ahead)).exec());
    const res = await this.deps.redis.multi(plain ? plan.commands : scripted(coalesce(plan.commands))).exec();
    if (res === null) return null;
    for (const [err] of res) if (err) throw err;
    if (plan.changed) this.writes++;
    return { applied: true, changed: plan.changed, events: plan.events.map((o: OutboxItem) => o.event) };
  }
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
