import { describeError, encodeEvent, type CatalogKeys, type CloudEvent } from '@profiles/shared';
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
const BATCH = 500;

/**
 * Publishes the catalog events that the writer left in the Redis outbox, oldest first, in batches of up to 500
 * publishes in flight, and removes each one only after JetStream has stored it. One replica drains at a time (a short lease); the event id is the
 * JetStream de-duplication id, so an event published twice (lease lost mid-batch) is stored once.
 */
export class Outbox {
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
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

  /** Asks for a drain soon; calls while one runs coalesce into one more pass. */
  kick(): void {
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
    const { redis, keys, js } = this.deps;
    // Look before taking the lease: an idle indexer then only reads, it never writes to Redis.
    if ((await redis.llen(keys.outbox())) === 0) return;
    const got = await redis.set(keys.outboxLock(), this.deps.owner, 'PX', LEASE_MS, 'NX');
    if (got !== 'OK') return;
    try {
      for (;;) {
        const items = await redis.lrange(keys.outbox(), 0, BATCH - 1);
        if (items.length === 0) return;
        // The batch's publishes go out together (one connection keeps their order) and their acks are awaited
        // together: a round trip per batch instead of per event. Only the head of the list that JetStream
        // stored is trimmed; after a failure the rest is published again (stored once: the event id is the
        // de-duplication id).
        const acks = await Promise.allSettled(
          items.map((raw) => {
            const { subject, event } = JSON.parse(raw) as { subject: string; event: CloudEvent };
            return publishTraced(js, subject, event);
          }),
        );
        const failed = acks.findIndex((a) => a.status === 'rejected');
        const done = failed < 0 ? items.length : failed;
        // Trim only what was published: it is the head, since only the lease holder pops.
        if (done > 0) await redis.ltrim(keys.outbox(), done, -1);
        this.published += done;
        if (failed >= 0) throw (acks[failed] as PromiseRejectedResult).reason;
        await redis.pexpire(keys.outboxLock(), LEASE_MS);
      }
    } finally {
      // Release only our own lease.
      if ((await redis.get(keys.outboxLock())) === this.deps.owner) await redis.del(keys.outboxLock());
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
