import type { CatalogKeys } from '@profiles/shared';
import {
  ConsumerMetrics,
  redactUrl,
  type Counter,
  type Histogram,
  type JetStreamManager,
  type Redis,
  type ServiceMetrics,
} from '@profiles/shared/runtime';
import type { CatalogWriter } from './catalog-writer.ts';
import type { Outbox } from './outbox.ts';

/**
 * The indexer's series: its consumer's (see ConsumerMetrics), Redis writes and outbox progress (the writer's
 * and the outbox's own tallies), the catalog's size and the outbox length read from Redis at scrape time.
 */
export function registerIndexerMetrics(
  metrics: ServiceMetrics,
  parts: { writer: CatalogWriter; outbox: Outbox; redis: Redis; keys: CatalogKeys; jsm: JetStreamManager },
): ConsumerMetrics {
  const { writer, outbox, redis, keys } = parts;
  metrics.tally(
    'profiles_redis_writes',
    'catalog transactions (MULTI/EXEC) that changed Redis',
    () => writer.writes,
  );
  metrics.tally(
    'profiles_catalog_events_published',
    'catalog events moved from the outbox to JetStream',
    () => outbox.published,
  );
  metrics.gauge(
    'profiles_outbox_length',
    'entries waiting in the Redis outbox (one per catalog write, with all of its events)',
    async () => (await redis.llen(keys.outboxEntries())) + (await redis.llen(keys.outbox())),
  );
  metrics.gauge('profiles_catalog_profiles', 'profiles in the catalog (one per catalog and name)', () =>
    redis.zcard(keys.profileNames()),
  );
  metrics.gauge('profiles_catalog_sources', 'catalog sources indexed', () => redis.scard(keys.sources()));
  return new ConsumerMetrics(metrics, 'indexer', parts.jsm);
}

/** Scan durations and git failures per repository (the URL without credentials). */
export class ScanMetrics {
  private readonly duration: Histogram;
  private readonly failures: Counter;

  constructor(metrics: ServiceMetrics) {
    this.duration = metrics.histogram(
      'profiles_repository_scan_duration_seconds',
      'repository scans (git ls-remote, fetch, read)',
    );
    this.failures = metrics.counter(
      'profiles_repository_scan_failures',
      'repository scans that failed (git, credentials, URL policy)',
    );
  }

  scanned(url: string, seconds: number, failed: boolean): void {
    const attrs = { repository: redactUrl(url) };
    this.duration.record(seconds, attrs);
    // Zero on success too: every scanned repository has the series, so failures / scans is defined.
    this.failures.add(failed ? 1 : 0, attrs);
  }
}
