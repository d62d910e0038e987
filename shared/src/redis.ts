import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { AppError } from './errors.ts';
import { redactUrl } from './redact.ts';
import { backoffDelay } from './retry.ts';

export { Redis } from 'ioredis';

/**
 * A Redis client that reconnects forever with capped backoff. By default it queues commands while
 * disconnected, so a Redis restart delays work instead of failing it; `failFast` makes commands fail at once
 * instead. Readiness is `client.status === 'ready'`.
 */
export function connectRedis(
  url: string,
  log: Logger,
  name = 'profiles',
  opts: { autoPipelining?: boolean; failFast?: boolean } = {},
): Redis {
  const client = new Redis(url, {
    connectionName: name,
    lazyConnect: false,
    // Workers wait for Redis to come back (commands queue); the API fails fast so a request gets a 503
    // instead of hanging while Redis is away.
    maxRetriesPerRequest: opts.failFast ? 0 : null,
    enableOfflineQueue: !opts.failFast,
    enableAutoPipelining: opts.autoPipelining ?? true,
    retryStrategy: (times) => backoffDelay(times, { initialMs: 50, maxMs: 2_000 }),
  });
  let lastError = '';
  client.on('error', (err: Error) => {
    // ioredis emits the same connection error on every retry: log each distinct one once.
    if (err.message !== lastError)
      log.warn({ err: err.message, url: redactUrl(url) }, 'redis connection error');
    lastError = err.message;
  });
  client.on('ready', () => {
    if (lastError) log.info({ url: redactUrl(url) }, 'redis connection restored');
    lastError = '';
  });
  return client;
}

/** Waits until the client is connected (or throws after timeoutMs). */
export async function waitForRedis(client: Redis, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await client.ping()) === 'PONG') return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new AppError('UNAVAILABLE', `redis not reachable within ${timeoutMs} ms`);
}
