import {
  describeError,
  encodeEvent,
  EVENT_TYPES,
  makeEvent,
  parseSourceId,
  readSourceState,
  SUBJECTS,
  type CatalogKeys,
} from '@profiles/shared';
import type { JetStreamClient, Logger, Redis } from '@profiles/shared/runtime';

export interface PollSchedulerDeps {
  redis: Redis;
  keys: CatalogKeys;
  js: JetStreamClient;
  log: Logger;
  defaultIntervalSeconds: number;
  tickMs?: number;
}

/**
 * Rescans repositories on their interval. Due sources sit in the `poll-schedule` sorted set (score: due time);
 * any indexer replica may look, and the one whose ZREM removes a source owns that round: it schedules the next
 * one (interval ±10%) and publishes a refresh event, which any replica then applies. The event id names the
 * round, so a round published twice is stored once.
 */
export class PollScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  published = 0;

  constructor(private readonly deps: PollSchedulerDeps) {}

  start(): void {
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.tick().finally(() => (this.running = undefined));
    }, this.deps.tickMs ?? 1_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  async tick(): Promise<void> {
    const { redis, keys } = this.deps;
    try {
      const now = Date.now();
      const due = await redis.zrangebyscore(
        keys.pollSchedule(),
        '-inf',
        String(now),
        'WITHSCORES',
        'LIMIT',
        '0',
        '50',
      );
      for (let i = 0; i < due.length; i += 2) {
        const id = due[i]!;
        const round = due[i + 1]!;
        if ((await redis.zrem(keys.pollSchedule(), id)) !== 1) continue; // another replica owns this round
        const { pollSeconds } = await readSourceState(redis, keys, id, ['pollSeconds']);
        const seconds = Number(pollSeconds || this.deps.defaultIntervalSeconds);
        await redis.zadd(
          keys.pollSchedule(),
          now + Math.round(seconds * 1000 * (0.9 + Math.random() * 0.2)),
          id,
        );
        const ref = parseSourceId(id);
        if (!ref) continue;
        const ev = makeEvent(EVENT_TYPES.sourceRefresh, 'indexer/poll', { ref, reason: 'poll' });
        ev.id = `poll:${id}:${round}`;
        await this.deps.js.publish(SUBJECTS.sourceRefresh(ref), encodeEvent(ev), { msgID: ev.id });
        this.published++;
      }
    } catch (err) {
      this.deps.log.warn({ err: describeError(err) }, 'poll scheduling failed; will retry');
    }
  }
}
