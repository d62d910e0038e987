import { describeError, type InstallationKeys } from '@profiles/shared';
import type { Logger, Redis } from '@profiles/shared/runtime';
import type { InstallRequests } from './install-requests.ts';

export interface InstallOutboxDeps {
  redis: Redis;
  keys: InstallationKeys;
  requests: InstallRequests;
  log: Logger;
}

/**
 * Republishes install requests whose publish failed (or whose API replica died in between): every `periodMs`,
 * the ids listed as unpublished for longer than a period. JetStream drops a second copy within its duplicate
 * window; the installer skips ids already finished after it. Returns the function that stops the loop.
 */
export function startInstallOutbox(d: InstallOutboxDeps, periodMs = 2_000): () => void {
  let busy = false;
  const drain = async () => {
    const ids = await d.redis.zrangebyscore(
      d.keys.unpublished(),
      '-inf',
      Date.now() - periodMs,
      'LIMIT',
      0,
      100,
    );
    for (const id of ids) await d.requests.publish(id, 5_000);
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    drain()
      .catch((err) =>
        d.log.warn({ err: describeError(err) }, 'install outbox: publish failed, retrying later'),
      )
      .finally(() => {
        busy = false;
      });
  }, periodMs);
  timer.unref();
  return () => clearInterval(timer);
}
