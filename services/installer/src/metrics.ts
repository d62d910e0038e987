import { STREAMS, TERMINAL_STATUSES } from '@profiles/shared';
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

  constructor(metrics: ServiceMetrics, jsm: JetStreamManager) {
    this.consumer = new ConsumerMetrics(metrics, 'installer', jsm);
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

  /** `outcome`: the request's final status (committed, pr-opened, rendered, failed). */
  finished(outcome: string, seconds: number): void {
    this.installs.add(1, { outcome });
    this.duration.record(seconds, { outcome });
  }
}
