import { INSTALL_CONSUMERS, STREAMS } from '@profiles/shared';
import type { Logger } from '@profiles/shared/runtime';
import {
  runConsumer,
  type ConsumerMetrics,
  type ConsumerRunner,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type Verdict,
} from '@profiles/shared/runtime';
import type { RepositoryGate } from './repository-gate.ts';

export interface PartitionConsumersDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  log: Logger;
  gate: RepositoryGate;
  /** The work on one message of `partition`. */
  handle: (m: JsMsg, partition: number) => Promise<Verdict>;
  metrics: ConsumerMetrics;
}

/**
 * The consumers of the partitions this replica owns, through the shared consumer runner: every message of a
 * partition is taken in hand at once (up to the consumer's `max_ack_pending`) and waits in the repository gate,
 * which decides what runs. The owner of partition 0 also drains the unpartitioned subject of older releases.
 */
export class PartitionConsumers {
  private readonly runners = new Map<number, ConsumerRunner[]>();
  private done = 0;

  constructor(private readonly d: PartitionConsumersDeps) {}

  acquire(p: number): void {
    if (this.runners.has(p)) return;
    this.d.gate.open(p);
    const specs = [INSTALL_CONSUMERS.partition(p), ...(p === 0 ? [INSTALL_CONSUMERS.unpartitioned] : [])];
    this.runners.set(
      p,
      specs.map((spec) =>
        runConsumer({
          js: this.d.js,
          jsm: this.d.jsm,
          consumer: spec,
          log: this.d.log,
          // The gate limits the work; the runner only keeps what waits there in progress.
          concurrency: spec.maxAckPending,
          maxMessages: 64,
          metrics: this.d.metrics,
          handle: (m) => this.d.handle(m, p),
        }),
      ),
    );
  }

  /** Gives back the partition's waiting messages (naked: its next owner takes them), waits for the rest. */
  async release(p: number): Promise<void> {
    const runners = this.runners.get(p);
    if (!runners) return;
    this.d.gate.close(p);
    await Promise.all(runners.map((r) => r.stop()));
    this.done += runners.reduce((n, r) => n + r.handled(), 0);
    this.runners.delete(p);
  }

  handled(): number {
    let n = this.done;
    for (const rs of this.runners.values()) for (const r of rs) n += r.handled();
    return n;
  }
}

/**
 * Releases before partitioning consumed the install stream through one unfiltered durable; on a work-queue
 * stream it overlaps every partition's consumer, which the server then refuses. It is deleted (the messages
 * stay in the stream: those on the unpartitioned subject are taken by its own consumer).
 */
export async function dropUnfilteredConsumer(jsm: JetStreamManager, log: Logger): Promise<void> {
  const name = INSTALL_CONSUMERS.legacyDurable;
  const info = await jsm.consumers.info(STREAMS.installs.name, name).catch(() => undefined);
  if (!info || info.config.filter_subject) return;
  await jsm.consumers.delete(STREAMS.installs.name, name).catch(() => false);
  log.info({ consumer: name }, 'deleted the unfiltered install consumer of an older release');
}
