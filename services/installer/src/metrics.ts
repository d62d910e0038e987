import { INSTALL_CONSUMERS, INSTALL_PARTITIONS, STREAMS, TERMINAL_STATUSES } from '@profiles/shared';
import {
  ConsumerMetrics,
  type Counter,
  type Histogram,
  type JetStreamManager,
  type ServiceMetrics,
} from '@profiles/shared/runtime';

/**
 * The installer's series: its consumer's (see ConsumerMetrics), installs by final status and how long the work
 * on each took, and the install queue's depth (requests stored in the work-queue stream) at scrape time.
 */
export class InstallMetrics {
  readonly consumer: ConsumerMetrics;
  private readonly installs: Counter;
  private readonly duration: Histogram;
  private readonly pushRetries: Counter;
  private retried = 0;

  constructor(metrics: ServiceMetrics, jsm: JetStreamManager) {
    // One series for the queue, whichever partitions this replica consumes.
    const durables = [
      ...Array.from({ length: INSTALL_PARTITIONS }, (_, p) => INSTALL_CONSUMERS.partition(p).durable),
      INSTALL_CONSUMERS.unpartitioned.durable,
    ];
    const queue = { stream: STREAMS.installs.name, durable: 'installer' };
    this.consumer = new ConsumerMetrics(metrics, queue, jsm, durables);
    this.pushRetries = metrics.counter(
      'profiles_install_push_retries',
      'pushes to a target repository rejected because another writer moved the branch first, then redone',
    );
    this.pushRetries.add(0);
    this.installs = metrics.counter('profiles_installs', 'install requests finished, by final status');
    this.duration = metrics.histogram(
      'profiles_install_duration_seconds',
      'time the installer worked on a request (fetch, render, commit, push, status), by final status',
    );
    // Zero from the start, so that rates and the failing-installs alert see every outcome.
    for (const outcome of TERMINAL_STATUSES) this.installs.add(0, { outcome });
    metrics.gauge(
      'profiles_install_queue_depth',
      'install requests waiting in the work queue or in progress',
      async () => {
        const info = await jsm.streams.info(STREAMS.installs.name).catch(() => undefined);
        return info?.state.messages ?? 0;
      },
    );
  }

  /** A push lost a race with another writer of the branch and is redone on the new head. */
  pushRetried(): void {
    this.retried++;
    this.pushRetries.add(1);
  }

  /** Push retries since start (the counter's value, for tests and benchmarks). */
  pushRetriesSoFar(): number {
    return this.retried;
  }

  /** `outcome`: the request's final status (committed, pr-opened, rendered, failed). */
  finished(outcome: string, seconds: number): void {
    this.installs.add(1, { outcome });
    this.duration.record(seconds, { outcome });
  }
}
