import { setTimeout as sleep } from 'node:timers/promises';

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
}

/**
 * Exponential backoff with full jitter: the n-th delay is random in [0, min(max, initial * factor^n)], so
 * replicas that failed together do not retry together. The one backoff of the services (connections, the
 * consumer runner's redeliveries).
 */
export function backoffDelay(attempt: number, o: BackoffOptions = {}): number {
  const initial = o.initialMs ?? 100;
  const max = o.maxMs ?? 5_000;
  const cap = Math.min(max, initial * (o.factor ?? 2) ** attempt);
  return Math.round(Math.random() * cap);
}

/**
 * Retries `fn` until it succeeds, `signal` aborts, or `attempts` run out; `onError` sees every failure
 * (to log it). Used for connecting to servers that may not be up yet.
 */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: BackoffOptions & {
    attempts?: number;
    signal?: AbortSignal;
    onError?: (err: unknown, attempt: number) => void;
  } = {},
): Promise<T> {
  const attempts = opts.attempts ?? Infinity;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      opts.onError?.(err, attempt);
      if (attempt + 1 >= attempts || opts.signal?.aborted) throw err;
      await sleep(backoffDelay(attempt, opts), undefined, opts.signal ? { signal: opts.signal } : undefined);
    }
  }
}
