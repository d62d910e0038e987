/**
 * Runs tasks on a few lanes at once, in order within a lane: a task with a key always runs on that key's lane,
 * after the tasks given before it with the same key; a task without a key is a barrier, run alone once every
 * lane is idle. The catalog rebuild gives each source event its source as key, so one source's events keep
 * their stream order while another source's transaction is in Redis: Node plans one source as Redis applies
 * the last (one lane leaves one of them idle at a time). Each lane has a connection of its own (WATCH).
 *
 * `push` waits while the key's lane already has `depth` tasks queued, so a stream is not read ahead without
 * bound. The first failure is kept: later pushes run nothing and `drain` throws it.
 */
export class Lanes {
  /** Per lane, the tasks given and not yet finished, oldest first (each settles after its count is taken). */
  private readonly pending: Promise<void>[][];
  private failure: { err: unknown } | undefined;

  constructor(
    private readonly count: number,
    private readonly depth = 2,
  ) {
    if (!Number.isInteger(count) || count < 1) throw new Error(`lanes: count must be ≥ 1, not ${count}`);
    this.pending = Array.from({ length: count }, () => []);
  }

  /** The lane of a key (a stable hash: the same key, the same lane). */
  laneOf(key: string): number {
    let h = 0;
    for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
    return (h >>> 0) % this.count;
  }

  async push(key: string | undefined, task: (lane: number) => Promise<void>): Promise<void> {
    this.throwIfFailed();
    if (key === undefined) {
      await this.idle();
      this.throwIfFailed();
      await this.run(0, task);
      return;
    }
    const lane = this.laneOf(key);
    const queue = this.pending[lane]!;
    // The oldest first: when it settles the lane has room again.
    while (queue.length >= this.depth) await queue[0];
    this.throwIfFailed();
    const previous = queue.at(-1) ?? Promise.resolve();
    const done: Promise<void> = previous
      .then(() => (this.failure ? undefined : this.run(lane, task)))
      .finally(() => {
        queue.splice(queue.indexOf(done), 1);
      });
    queue.push(done);
  }

  /** Waits for every task given so far; throws the first failure. */
  async drain(): Promise<void> {
    await this.idle();
    this.throwIfFailed();
  }

  private async idle(): Promise<void> {
    while (this.pending.some((q) => q.length > 0)) await Promise.all(this.pending.flat());
  }

  private async run(lane: number, task: (lane: number) => Promise<void>): Promise<void> {
    try {
      await task(lane);
    } catch (err) {
      this.failure ??= { err };
    }
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.err;
  }
}
