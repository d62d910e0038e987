import { randomUUID } from 'node:crypto';
import { DeliverPolicy } from '@nats-io/jetstream';
import {
  AppError,
  ALL_SOURCES,
  bumpGeneration,
  decodeEvent,
  describeError,
  EVENT_TYPES,
  isEventOf,
  sourceId,
  STREAMS,
  type CatalogKeys,
  type CloudEvent,
} from '@profiles/shared';
import { Lanes } from './lanes.ts';
import type { JetStreamClient, JetStreamManager, Logger, Redis } from '@profiles/shared/runtime';

export interface CatalogRepairDeps {
  /** A connection of its own: the writer behind `apply` uses WATCH, which a MULTI here would end. */
  redis: Redis;
  keys: CatalogKeys;
  js: JetStreamClient;
  jsm: JetStreamManager;
  log: Logger;
  owner: string;
  /**
   * Applies one event of the sources stream, as the durable consumer does, on one of `lanes` lanes (each with
   * a connection of its own): the events of one source always on the same lane, in stream order.
   */
  apply: (ev: CloudEvent, seq: number, lane: number) => Promise<void>;
  /** How many events the replay applies at once (`Lanes`); default 1. */
  lanes?: number;
  /**
   * Runs the replay (e.g. with the outbox held, so the catalog is back before its events are published: both
   * would share one thread). Default: just runs it.
   */
  whileReplaying?: <T>(replay: () => Promise<T>) => Promise<T>;
  checkMs?: number;
}

const LEASE_MS = 30_000;
// Set the epoch and bump the generation only if the lease is still ours: a wipe during the rebuild took the
// lease with it, and that rebuild must not vouch for a catalog it did not see whole.
const FINISH = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[1], KEYS[3])
return 1`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1], KEYS[2]) end return 0`;
// The last sequence this rebuild replays, under the lease: consumers ack events up to it without applying them.
const ANNOUNCE = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1`;
const RENEW = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1`;
// Generations must never repeat (ETags and cached pages are keyed by them): a rebuild starts above anything
// seen before, and above the clock in milliseconds (below 1e14: Lua reads and writes such integers exactly).
const RAISE = `local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local want = math.max(cur, tonumber(ARGV[1])) + 1
redis.call('SET', KEYS[1], string.format('%d', want))
return want`;

/**
 * Notices that Redis no longer holds the whole catalog and rebuilds it from the sources of truth. Redis is a
 * copy: the sources stream keeps the last event of every source, so replaying it (through the same code the
 * durable consumer runs; writes are ordered by stream sequence, so both may run at once) restores every source,
 * and repositories are scanned again because their scan state went with the rest.
 *
 * What counts as "not whole", checked every `checkMs`:
 * - `catalog-epoch` is missing: written at the end of each rebuild, it vanishes with a FLUSHALL, a restart
 *   without data, or a new empty server;
 * - the generation went back: an older copy was restored;
 * - the server is another process (INFO run_id) and the epoch is still the one seen before: a restart or a
 *   promoted replica may lack the last writes (asynchronous persistence and replication).
 * While a rebuild is due or running the epoch is absent, so every replica's readiness (and the API's) is false.
 */
export class CatalogRepair {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private whole = false;
  private lastGeneration = 0;
  private lastEpoch: string | undefined;
  private lastRunId: string | undefined;
  rebuilds = 0;

  constructor(private readonly deps: CatalogRepairDeps) {}

  /** True while the catalog is known to be whole (readiness). */
  ready(): boolean {
    return this.whole;
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.check()
        .catch((err: unknown) => {
          this.whole = false;
          this.deps.log.warn({ err: describeError(err) }, 'catalog check failed; retrying');
        })
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, this.deps.checkMs ?? 1_000);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private async check(): Promise<void> {
    const { redis, keys } = this.deps;
    // A pipeline, not MULTI: this runs every second and writes nothing, and reads interleaved with a wipe still
    // see it (the epoch gone, or the generation lower).
    const [[, epoch], [, generation], [, info]] = (await redis
      .pipeline()
      .get(keys.catalogEpoch())
      .get(keys.generation())
      .info('server')
      .exec()) as [[null, string | null], [null, string | null], [null, string]];
    const runId = /run_id:(\w+)/.exec(info)?.[1];
    const g = Number(generation ?? 0);
    const reason = !epoch
      ? 'the catalog epoch is missing (Redis was emptied)'
      : g < this.lastGeneration
        ? `the generation went back from ${this.lastGeneration} to ${g} (an older copy was restored)`
        : runId !== this.lastRunId && epoch === this.lastEpoch
          ? 'Redis is another process with the same catalog (restarted or failed over): it may lack recent writes'
          : undefined;
    if (!reason) {
      this.whole = true;
      this.lastEpoch = epoch!;
      this.lastRunId = runId;
      this.lastGeneration = Math.max(this.lastGeneration, g);
      return;
    }
    this.whole = false;
    const token = `${this.deps.owner}:${randomUUID()}`;
    if ((await redis.set(keys.catalogRebuildLock(), token, 'PX', LEASE_MS, 'NX')) !== 'OK') return;
    try {
      if (await this.rebuild(token, reason)) this.lastRunId = runId;
    } finally {
      await redis.eval(RELEASE, 2, keys.catalogRebuildLock(), keys.catalogRebuildThrough(), token);
    }
  }

  /** Returns false when the catalog changed under the rebuild (the next check starts another). */
  private async rebuild(token: string, reason: string): Promise<boolean> {
    const { redis, keys, log } = this.deps;
    const t0 = Date.now();
    log.warn({ reason }, `rebuilding the catalog from the sources stream: ${reason}`);
    await redis.del(keys.catalogEpoch());
    await redis.eval(RAISE, 1, keys.generation(), String(Math.max(this.lastGeneration, Date.now())));
    const replay = () => this.replay(token);
    const events = await (this.deps.whileReplaying ? this.deps.whileReplaying(replay) : replay());
    const epoch = randomUUID();
    const done =
      (await redis.eval(
        FINISH,
        3,
        keys.catalogRebuildLock(),
        keys.catalogEpoch(),
        keys.catalogRebuildThrough(),
        token,
        epoch,
      )) === 1;
    if (!done) {
      log.warn('the catalog changed under its rebuild (emptied again?); rebuilding once more');
      return false;
    }
    // Announce a change of everything: API replicas reload their whole search mirror.
    const res = await bumpGeneration(redis.multi(), keys, ALL_SOURCES).exec();
    this.lastGeneration = Number(res?.[0]?.[1] ?? 0);
    this.lastEpoch = epoch;
    this.rebuilds++;
    log.info(
      { events, ms: Date.now() - t0 },
      `catalog rebuilt from ${events} events in ${Date.now() - t0} ms`,
    );
    return true;
  }

  /**
   * Applies every event the sources stream holds now, oldest first; returns how many. Announces the last
   * sequence first (`coveredByRebuild`): the durable consumers skip what this replay applies.
   */
  private async replay(token: string): Promise<number> {
    const { redis, keys, js, jsm, log } = this.deps;
    const info = await jsm.streams.info(STREAMS.sources.name);
    if (info.state.messages === 0) return 0;
    const last = info.state.last_seq;
    const lease = [keys.catalogRebuildLock(), keys.catalogRebuildThrough(), token] as const;
    if ((await redis.eval(ANNOUNCE, 2, ...lease, String(last), String(LEASE_MS))) !== 1)
      throw new AppError('UNAVAILABLE', 'rebuild lease lost');
    const consumer = await js.consumers.get(STREAMS.sources.name, { deliver_policy: DeliverPolicy.All });
    const messages = await consumer.consume({ max_messages: 256 });
    const lanes = new Lanes(this.deps.lanes ?? 1);
    let applied = 0;
    let renewed = Date.now();
    try {
      for await (const m of messages) {
        let ev: CloudEvent | undefined;
        try {
          ev = decodeEvent(m.data);
        } catch (err) {
          log.debug({ seq: m.seq, err: describeError(err) }, 'malformed event skipped in the rebuild');
        }
        if (ev) {
          const event = ev;
          const seq = m.seq;
          // By source, so its events keep their order; a snapshot (about many sources) waits for all lanes.
          await lanes.push(sourceOf(event), (lane) => this.deps.apply(event, seq, lane));
          applied++;
        }
        if (Date.now() - renewed > LEASE_MS / 3) {
          renewed = Date.now();
          if ((await redis.eval(RENEW, 2, ...lease, String(LEASE_MS))) !== 1)
            throw new AppError('UNAVAILABLE', 'rebuild lease lost');
        }
        if (m.seq >= last) break;
        // Not finished: consumers acked events up to `last` for this rebuild, so it must not write the epoch.
        if (this.stopped) throw new AppError('UNAVAILABLE', 'stopped during the rebuild');
      }
      await lanes.drain();
    } finally {
      // Stopped or failed: what is still running on a lane finishes before its connection may close.
      await lanes.drain().catch(() => undefined);
      await messages.close();
    }
    return applied;
  }
}

/** The source an event is about (`data.ref`), or undefined (a snapshot of an origin: many sources). */
function sourceOf(ev: CloudEvent): string | undefined {
  if (
    isEventOf(ev, EVENT_TYPES.sourceUpserted) ||
    isEventOf(ev, EVENT_TYPES.sourceDeleted) ||
    isEventOf(ev, EVENT_TYPES.sourceRefresh)
  )
    return sourceId(ev.data.ref);
  return undefined;
}

/**
 * True when a rebuild is replaying the stream through `seq`: it applies that event itself, or it fails without
 * writing the epoch and the next rebuild replays the whole stream again, so a consumer may ack the event without
 * applying it (otherwise every source is planned twice after a Redis loss).
 */
export async function coveredByRebuild(redis: Redis, keys: CatalogKeys, seq: number): Promise<boolean> {
  const through = await redis.get(keys.catalogRebuildThrough());
  return through !== null && Number(through) >= seq;
}
