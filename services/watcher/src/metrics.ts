import type { ServiceMetrics } from '@profiles/shared/runtime';
import type { Publisher } from './publisher.ts';
import type { StatusWriter } from './status-writer.ts';

/**
 * The watcher's series: events published and waiting, the time of the last acknowledged publish (snapshots
 * repeat every SNAPSHOT_INTERVAL_SECONDS, so it is the watcher's heartbeat), and in Kubernetes mode the status
 * writes and their backoffs (the status writer's consumer records its own series, see ConsumerMetrics).
 */
export function registerWatcherMetrics(
  metrics: ServiceMetrics,
  publisher: Publisher,
  statusWriter?: StatusWriter,
): void {
  metrics.tally(
    'profiles_events_published',
    'source events JetStream acknowledged',
    () => publisher.published,
  );
  metrics.gauge('profiles_publish_backlog', 'source events waiting to be published', () => publisher.backlog);
  metrics.gauge(
    'profiles_watcher_last_publish_timestamp_seconds',
    'when JetStream last acknowledged an event of this watcher (0: never)',
    () => publisher.lastPublishedAt / 1000,
  );
  if (!statusWriter) return;
  metrics.tally('profiles_status_writes', 'status subresources written', () => statusWriter.writes);
  metrics.tally(
    'profiles_status_write_backoffs',
    'status writes that failed and were retried after a backoff',
    () => statusWriter.backoffs,
  );
}
