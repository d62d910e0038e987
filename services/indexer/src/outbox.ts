import {
  describeError,
  encodeEvent,
  type CatalogKeys,
  type CloudEvent,
  type JetStreamClient,
  type Logger,
  type Redis,
} from '@profiles/shared';

/**
 * Publishes the catalog events that the writer left in the Redis outbox, oldest first, and removes each one
 * only after JetStream has stored it. One replica drains at a time (a short lease); the event id is the
 * JetStream de-duplication id, so an event published twice (lease lost mid-batch) is stored once.
 */
export interface OutboxDeps {
  redis: Redis;
  keys: CatalogKeys;
  js: JetStreamClient;
  log: Logger;
  owner: string;
}

const LEASE_MS = 10_000;
const BATCH = 100;

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
        for (const raw of items) {
          const { subject, event } = JSON.parse(raw) as { subject: string; event: CloudEvent };
          await js.publish(subject, encodeEvent(event), { msgID: event.id, timeout: 5_000 });
          // LPOP only the item we published: it is the head, since only the lease holder pops.
          await redis.lpop(keys.outbox());
          this.published++;
        }
        await redis.pexpire(keys.outboxLock(), LEASE_MS);
      }
    } finally {
      // Release only our own lease.
      if ((await redis.get(keys.outboxLock())) === this.deps.owner) await redis.del(keys.outboxLock());
    }
  }
}
