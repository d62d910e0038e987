import type { Guarded } from './processes.ts';

/**
 * Keeps one service running for `npm start`: when it exits while we are not stopping, it is started again
 * after a backoff (1 s, doubling up to 30 s; back to 1 s once a run lasted 30 s), and each restart is said
 * on the console, so one crash no longer stops the whole local system.
 */
export interface Supervised {
  name: string;
  /** How often it was restarted. */
  restarts: () => number;
  /** Stops it (and any pending restart); resolves when it has exited. */
  stop: (graceMs: number) => Promise<void>;
}

export interface SuperviseOptions {
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A run longer than this resets the backoff. */
  stableMs?: number;
  say: (line: string) => void;
}

export function supervise(name: string, spawnOnce: () => Guarded, opts: SuperviseOptions): Supervised {
  const min = opts.minBackoffMs ?? 1_000;
  const max = opts.maxBackoffMs ?? 30_000;
  const stable = opts.stableMs ?? 30_000;
  let stopping = false;
  let attempt = 0;
  let restarts = 0;
  let current: Guarded | undefined;
  let timer: NodeJS.Timeout | undefined;

  const start = () => {
    timer = undefined;
    const startedAt = Date.now();
    const proc = spawnOnce();
    current = proc;
    void proc.exited.then((code) => {
      if (current === proc) current = undefined;
      if (stopping) return;
      const ranMs = Date.now() - startedAt;
      if (ranMs >= stable) attempt = 0;
      const delay = Math.min(max, min * 2 ** attempt);
      attempt += 1;
      restarts += 1;
      opts.say(
        `[${name}] exited with code ${code} after ${(ranMs / 1000).toFixed(1)} s; ` +
          `restarting in ${delay / 1000} s (restart ${restarts})`,
      );
      timer = setTimeout(() => {
        if (stopping) return;
        opts.say(`[${name}] restarting`);
        start();
      }, delay);
    });
  };
  start();
  return {
    name,
    restarts: () => restarts,
    stop: async (graceMs) => {
      stopping = true;
      if (timer) clearTimeout(timer);
      await current?.stop(graceMs);
    },
  };
}
