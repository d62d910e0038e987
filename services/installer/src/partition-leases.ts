import { createHash } from 'node:crypto';
import { describeError, type InstallationKeys } from '@profiles/shared';
import type { Logger, Redis } from '@profiles/shared/runtime';

export interface PartitionLeasesDeps {
  redis: Redis;
  keys: InstallationKeys;
  /** This replica's id, the value of its leases. */
  owner: string;
  log: Logger;
  partitions: number;
  /** How long a lease (and a replica's membership) lasts without renewal: a dead replica's is free after it. */
  leaseMs: number;
  /** Start consuming a partition just claimed. */
  acquire: (p: number) => void;
  /** Stop consuming a partition (resolves once nothing of it is worked on here any more). */
  release: (p: number) => Promise<void>;
}

// Renew or delete a lease only while it is still ours: one that expired may be another replica's by now.
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0`;
const DELETE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

/**
 * Which install partitions this replica consumes: a lease per partition in Redis (`SET NX PX`, renewed every
 * third of its life) and a membership heartbeat, so that each live replica claims its share, ceil(partitions /
 * replicas). A replica holding more than its share (another one joined) hands the extra partitions over: stops
 * consuming them, then frees their leases; one that died stops renewing, and its partitions are free to claim
 * once its leases run out. A lease found lost (Redis lost it, the replica stalled) stops consumption at once.
 */
export class PartitionLeases {
  private readonly held = new Set<number>();
  /** Being handed over: still ours (renewed) until consumption stopped. */
  private readonly releasing = new Map<number, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private readonly first: number;

  constructor(private readonly d: PartitionLeasesDeps) {
    // Replicas try partitions from different starting points, so that they rarely contend for the same one.
    this.first = Number.parseInt(createHash('sha256').update(d.owner).digest('hex').slice(0, 8), 16);
  }

  /** Claims a first share at once, then keeps the share right every third of the lease. */
  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(this.d.leaseMs / 3)));
    this.timer.unref();
  }

  owned(): number[] {
    return [...this.held].sort((a, b) => a - b);
  }

  /** Hands every partition back (consumption stopped first) and leaves the membership. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.busy) await new Promise((r) => setTimeout(r, 20));
    this.busy = true;
    for (const p of [...this.held]) this.handOver(p);
    await Promise.allSettled([...this.releasing.values()]);
    await this.d.redis.zrem(this.d.keys.installerMembers(), this.d.owner).catch(() => 0);
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const share = await this.heartbeat();
      const extra = this.held.size - share;
      if (extra > 0) for (const p of this.owned().slice(-extra)) this.handOver(p);
      else if (extra < 0) await this.claim(-extra);
    } catch (err) {
      this.d.log.warn({ err: describeError(err) }, 'installer partition leases: renewal failed');
    } finally {
      this.busy = false;
    }
  }

  /** Renews membership and leases; drops the leases found lost; answers this replica's share. */
  private async heartbeat(): Promise<number> {
    const now = Date.now();
    const members = this.d.keys.installerMembers();
    const mine = [...this.held, ...this.releasing.keys()];
    const tx = this.d.redis
      .pipeline()
      .zadd(members, now, this.d.owner)
      .zremrangebyscore(members, '-inf', now - this.d.leaseMs)
      .zcard(members);
    for (const p of mine) tx.eval(RENEW, 1, this.d.keys.partitionLease(p), this.d.owner, this.d.leaseMs);
    const replies = (await tx.exec()) ?? [];
    const failed = replies.find(([e]) => e);
    if (failed) throw failed[0];
    mine.forEach((p, i) => {
      if (replies[3 + i]?.[1] !== 1 && this.held.has(p)) {
        this.d.log.warn({ partition: p }, 'installer partition lease lost; stopping its consumption');
        this.held.delete(p);
        // Counted as releasing until its consumption stopped: claimed again before that (a wiped Redis frees
        // every lease at once), the start would find the consumer still there and do nothing, and the stop
        // then ended it, leaving the partition held and consumed by no one.
        const stopped = this.d
          .release(p)
          .catch(() => undefined)
          .finally(() => this.releasing.delete(p));
        this.releasing.set(p, stopped);
      }
    });
    const replicas = Math.max(1, Number(replies[2]?.[1] ?? 1));
    return Math.ceil(this.d.partitions / replicas);
  }

  private async claim(wanted: number): Promise<void> {
    for (let i = 0; i < this.d.partitions && wanted > 0; i++) {
      const p = (this.first + i) % this.d.partitions;
      if (this.held.has(p) || this.releasing.has(p)) continue;
      const key = this.d.keys.partitionLease(p);
      if ((await this.d.redis.set(key, this.d.owner, 'PX', this.d.leaseMs, 'NX')) !== 'OK') continue;
      this.held.add(p);
      wanted--;
      this.d.log.info({ partition: p }, 'installer partition claimed');
      this.d.acquire(p);
    }
  }

  private handOver(p: number): void {
    this.held.delete(p);
    const done = this.d
      .release(p)
      .catch((err) =>
        this.d.log.warn({ partition: p, err: describeError(err) }, 'stopping a partition failed'),
      )
      .then(() => this.d.redis.eval(DELETE, 1, this.d.keys.partitionLease(p), this.d.owner))
      .catch(() => undefined)
      .finally(() => this.releasing.delete(p));
    this.releasing.set(
      p,
      done.then(() => undefined),
    );
    this.d.log.info({ partition: p }, 'installer partition handed over');
  }
}
