/** What `RepositoryGate.run` answers for work it never started: its partition was closed meanwhile. */
export const NOT_STARTED = Symbol('not started');

interface Task {
  group: number;
  start: () => void;
  cancel: () => void;
}

/**
 * Runs install work fairly across target repositories: at most `total` tasks at once in this replica, at most
 * `perRepository` of them for one repository, the next free slot going to the repository that waited longest
 * (round robin), each repository's tasks in arrival order. So a repository with many requests queued takes
 * its share and no more: the others' requests start as soon as any slot frees, instead of waiting behind it.
 * Tasks belong to a group (the partition they came from): closing the group gives back the tasks not started.
 */
export class RepositoryGate {
  private running = 0;
  private readonly active = new Map<string, number>();
  /** Waiting tasks per repository; the map's order is the round-robin order. */
  private readonly queues = new Map<string, Task[]>();
  private readonly closed = new Set<number>();

  constructor(
    private readonly total: number,
    private readonly perRepository: number,
  ) {}

  /**
   * Runs `work` when a slot is free. `work` may call the `release` it is given to free its slot early, when
   * what is left of it no longer needs one (it waits in the repository's commit queue, where installs are
   * batched); calling it again, or the work ending, frees nothing more.
   */
  run<T>(
    group: number,
    key: string,
    work: (release: () => void) => Promise<T>,
  ): Promise<T | typeof NOT_STARTED> {
    if (this.closed.has(group)) return Promise.resolve(NOT_STARTED);
    return new Promise<T | typeof NOT_STARTED>((resolve, reject) => {
      const task: Task = {
        group,
        cancel: () => resolve(NOT_STARTED),
        start: () => {
          this.running++;
          this.active.set(key, (this.active.get(key) ?? 0) + 1);
          let held = true;
          const release = () => {
            if (!held) return;
            held = false;
            this.running--;
            const n = (this.active.get(key) ?? 1) - 1;
            if (n) this.active.set(key, n);
            else this.active.delete(key);
            this.pump();
          };
          Promise.resolve()
            .then(() => work(release))
            .then(resolve, reject)
            .finally(release);
        },
      };
      const q = this.queues.get(key) ?? [];
      this.queues.set(key, q);
      q.push(task);
      this.pump();
    });
  }

  /** Stops taking work of `group`: its waiting tasks answer NOT_STARTED; those running finish. */
  close(group: number): void {
    this.closed.add(group);
    for (const [key, q] of this.queues) {
      const keep = q.filter((t) => t.group !== group);
      for (const t of q) if (t.group === group) t.cancel();
      if (keep.length) this.queues.set(key, keep);
      else this.queues.delete(key);
    }
  }

  open(group: number): void {
    this.closed.delete(group);
  }

  /** Tasks running and waiting, for tests and logs. */
  size(): { running: number; waiting: number } {
    let waiting = 0;
    for (const q of this.queues.values()) waiting += q.length;
    return { running: this.running, waiting };
  }

  private pump(): void {
    let started = true;
    while (started && this.running < this.total) {
      started = false;
      for (const [key, q] of this.queues) {
        if ((this.active.get(key) ?? 0) >= this.perRepository) continue;
        const task = q.shift()!;
        // To the back of the round: the other repositories come first for the next slot.
        this.queues.delete(key);
        if (q.length) this.queues.set(key, q);
        task.start();
        started = true;
        break;
      }
    }
  }
}
