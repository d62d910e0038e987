import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  MeterProvider,
  MetricReader,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import type { JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { ConsumerRef } from './nats.ts';
import { CONSUMERS } from './subjects.ts';

export type { Attributes, Counter, Histogram } from '@opentelemetry/api';

/**
 * Each service's metrics, recorded with OpenTelemetry (the project's telemetry library) and rendered in the
 * Prometheus text format at `/metrics` on the service's health port (the API's on its own port). Series are
 * named `profiles_*`; the catalogue of names and their meaning is docs/operations.md. Nothing is pushed: a
 * scrape collects.
 */
class PullReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** Upper bounds (seconds) of the duration histograms of slow work: scans, installs. */
export const SLOW_WORK_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export class ServiceMetrics {
  private readonly reader: PullReader;
  private readonly serializer = new PrometheusSerializer();
  readonly provider: MeterProvider;
  readonly meter: Meter;

  constructor(service: string, producers: MetricProducer[] = []) {
    this.reader = new PullReader({
      aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE,
      metricProducers: producers,
    });
    this.provider = new MeterProvider({
      readers: [this.reader],
      resource: resourceFromAttributes({ 'service.name': `profiles-${service}` }),
    });
    this.meter = this.provider.getMeter(`profiles-${service}`);
  }

  counter(name: string, description: string): Counter {
    return this.meter.createCounter(name, { description });
  }

  /** Durations in seconds: name it `..._seconds`. */
  histogram(name: string, description: string, buckets = SLOW_WORK_BUCKETS_S): Histogram {
    return this.meter.createHistogram(name, {
      description,
      unit: 's',
      advice: { explicitBucketBoundaries: buckets },
    });
  }

  /** A gauge read at scrape time: one value, or one value per attribute set. */
  gauge(
    name: string,
    description: string,
    read: () => Promise<number | [Attributes, number][]> | number | [Attributes, number][],
  ): void {
    this.meter.createObservableGauge(name, { description }).addCallback(async (result) => {
      const v = await read();
      if (typeof v === 'number') result.observe(v);
      else for (const [attrs, n] of v) result.observe(n, attrs);
    });
  }

  /** A counter kept elsewhere (a component's own tally), read at scrape time. */
  tally(name: string, description: string, read: () => number): void {
    this.meter.createObservableCounter(name, { description }).addCallback((result) => result.observe(read()));
  }

  /** The Prometheus text exposition of everything recorded so far. */
  async render(): Promise<string> {
    const { resourceMetrics } = await this.reader.collect();
    return this.serializer.serialize(resourceMetrics);
  }
}

/**
 * The series every JetStream consumer loop records, by consumer name: messages handed to the handler, those
 * delivered more than once, those the handler failed on (naked or terminated), and at scrape time the
 * consumer's pending (not yet delivered) and ack-pending (delivered, not yet acked) counts.
 */
export class ConsumerMetrics {
  private readonly consumed: Counter;
  private readonly redelivered: Counter;
  private readonly failures: Counter;
  private readonly attrs: Attributes;

  /**
   * `durables`: the consumers whose counts are summed into the gauges (default: `consumer` alone), for a
   * service reading one logical queue through several (the installer's partitions).
   */
  constructor(
    metrics: ServiceMetrics,
    consumer: ConsumerRef | { stream: string; durable: string },
    jsm?: JetStreamManager,
    durables?: string[],
  ) {
    const c = typeof consumer === 'string' ? CONSUMERS[consumer] : consumer;
    this.attrs = { consumer: c.durable, stream: c.stream };
    this.consumed = metrics.counter('profiles_events_consumed', 'JetStream messages handed to the handler');
    this.redelivered = metrics.counter(
      'profiles_events_redelivered',
      'JetStream messages delivered more than once (after a nak, a crash or an ack timeout)',
    );
    this.failures = metrics.counter('profiles_events_failed', 'JetStream messages the handler failed on');
    // Zero from the start: a series that appears only at its first failure breaks rate() and the alerts.
    for (const c of [this.consumed, this.redelivered, this.failures]) c.add(0, this.attrs);
    if (jsm) {
      // Summed over the consumers behind this one name; one that does not exist (yet) counts 0.
      const sum = async (field: 'num_pending' | 'num_ack_pending') => {
        const infos = await Promise.all(
          (durables ?? [c.durable]).map((d) => jsm.consumers.info(c.stream, d).catch(() => undefined)),
        );
        return infos.reduce((n, i) => n + (i?.[field] ?? 0), 0);
      };
      metrics.gauge('profiles_consumer_pending', 'messages not yet delivered to the consumer', async () => [
        [this.attrs, await sum('num_pending')],
      ]);
      metrics.gauge(
        'profiles_consumer_ack_pending',
        'messages delivered to the consumer and not yet acknowledged',
        async () => [[this.attrs, await sum('num_ack_pending')]],
      );
    }
  }

  /** Call once per message, when it arrives. */
  received(m: JsMsg): void {
    this.consumed.add(1, this.attrs);
    if (m.info.deliveryCount > 1) this.redelivered.add(1, this.attrs);
  }

  failed(): void {
    this.failures.add(1, this.attrs);
  }
}
