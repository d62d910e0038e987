import { describeError, encodeEvent, type CatalogKeys, type CloudEvent } from '@profiles/shared';
import { decodeOutboxEntry, type OutboxItem } from './outbox-entry.ts';
import {
  contextFromAttributes,
  inSpan,
  SpanKind,
  traceHeaders,
  type JetStreamClient,
  type Logger,
  type Redis,
} from '@profiles/shared/runtime';

export interface OutboxDeps {
  redis: Redis;
  keys: CatalogKeys;
  js: JetStreamClient;
  log: Logger;
  owner: string;
}

const LEASE_MS = 10_000;
/** Events published together, their acks awaited together. */
const BATCH = 500;
/** Entries read at a time (an entry is one write: from one event to thousands). */
const ENTRIES = 32;

/**
 * Publishes the catalog events that the writer left in the Redis outbox, oldest first, up to 500 publishes in
 * flight, and removes an entry (one write's events, `outbox-entry.ts`) only after JetStream has stored all of
 * its events. One replica drains at a time (a short lease); the event id is the JetStream de-duplication id,
 * so an event published twice (an entry published again after a failure halfway, or a lease lost mid-batch)
 * is stored once. Older indexers' outbox (one event per element) is drained first, during a rolling upgrade.
 */
export class Outbox {
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private holds = 0;
  /** Events JetStream stored. */
  published = 0;

  constructor(private readonly deps: OutboxDeps) {}

  start(periodMs = 1_000): void {
    this.timer = setInterval(() => this.kick(), periodMs);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /**
   * Holds this replica's drains while `work` runs (a catalog rebuild: the catalog is served sooner when its
   * events, kept in Redis, go out right after it rather than beside it on the same thread); one drain follows.
   */
  async heldDuring<T>(work: () => Promise<T>): Promise<T> {
    this.holds++;
    try {
      return await work();
    } finally {
      this.holds--;
      this.kick();
    }
  }

  /** Asks for a drain soon; calls while one runs coalesce into one more pass. */
  kick(): void {
    if (this.holds > 0) return; // the hold's end kicks
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err: unknown) =>
        this.deps.log.warn({ err: describeError(err) }, 'outbox drain failed; will retry'),
      )
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  async drain(): Promise<void> {
    const { redis, keys } = this.deps;
    const lists = [keys.outbox(), keys.outboxEntries()];
    // Look before taking the lease: an idle indexer then only reads, it never writes to Redis.
    const lengths = await Promise.all(lists.map((k) => redis.llen(k)));
    if (lengths.every((n) => n === 0)) return;
    const got = await redis.set(keys.outboxLock(), this.deps.owner, 'PX', LEASE_MS, 'NX');
    if (got !== 'OK') return;
    try {
      for (const list of lists) await this.drainList(list);
    } finally {
      // Release only our own lease.
      if ((await redis.get(keys.outboxLock())) === this.deps.owner) await redis.del(keys.outboxLock());
    }
  }

  /**
   * Publishes the entries of one list until it is empty. The events of consecutive entries go out together (one
   * connection keeps their order) and their acks are awaited together: a round trip per batch, not per event.
   * Only the entries whose every event JetStream stored are trimmed, from the head (only the lease holder pops).
   */
  private async drainList(list: string): Promise<void> {
    const { redis, keys, log } = this.deps;
    for (;;) {
      if (this.holds > 0) return; // held since: the hold's end drains again
      const entries = await redis.lrange(list, 0, ENTRIES - 1);
      if (entries.length === 0) return;
      let stored = 0; // entries of this read whose events are all stored
      let batch: OutboxItem[] = [];
      /** For each entry whose last event is in `batch`: the batch's length after that event. */
      let ends: number[] = [];
      const flush = async () => {
        const acks = await Promise.allSettled(
          batch.map((i) => publishTraced(this.deps.js, i.subject, i.event)),
        );
        const failed = acks.findIndex((a) => a.status === 'rejected');
        this.published += acks.filter((a) => a.status === 'fulfilled').length;
        // The entries that ended before the first failure are stored whole (the rest is published again).
        stored += failed < 0 ? ends.length : ends.filter((end) => end <= failed).length;
        if (failed >= 0) throw (acks[failed] as PromiseRejectedResult).reason;
        batch = [];
        ends = [];
        await redis.pexpire(keys.outboxLock(), LEASE_MS);
      };
      try {
        for (const raw of entries) {
          let items: OutboxItem[] = [];
          try {
            items = decodeOutboxEntry(raw);
          } catch (err) {
            // Not written by an indexer: dropped, as kept it would stop every event behind it.
            log.error({ err: describeError(err), bytes: raw.length }, 'outbox entry dropped: unreadable');
          }
          for (const item of items) {
            if (batch.length >= BATCH) await flush();
            batch.push(item);
          }
          ends.push(batch.length);
        }
        await flush();
      } finally {
        if (stored > 0) await redis.ltrim(list, stored, -1);
      }
    }
  }
}

/** One catalog event, in a span continuing the trace of the write that made it; the headers carry it on. */
function publishTraced(js: JetStreamClient, subject: string, event: CloudEvent) {
  return inSpan(
    'indexer publish catalog event',
    {
      kind: SpanKind.PRODUCER,
      parent: contextFromAttributes(event),
      attributes: { 'profiles.event.type': event.type, 'messaging.destination.name': subject },
    },
    () => {
      const headers = traceHeaders();
      return js.publish(subject, encodeEvent(event), {
        msgID: event.id,
        timeout: 5_000,
        ...(headers ? { headers } : {}),
      });
    },
  );
}
