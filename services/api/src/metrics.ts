import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { Histogram } from '@opentelemetry/api';

/**
 * Request metrics with OpenTelemetry (the project's telemetry library), rendered in the Prometheus text format
 * at `/metrics`: request count and duration by route, method and status.
 */
class PullReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export class Metrics {
  private readonly reader = new PullReader({
    aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE,
  });
  private readonly duration: Histogram;
  private readonly serializer = new PrometheusSerializer();

  constructor() {
    const provider = new MeterProvider({ readers: [this.reader] });
    this.duration = provider.getMeter('profiles-api').createHistogram('http_server_request_duration', {
      unit: 'ms',
      description: 'HTTP request duration',
      advice: { explicitBucketBoundaries: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500] },
    });
  }

  observe(route: string, method: string, status: number, ms: number): void {
    this.duration.record(ms, {
      'http.route': route,
      'http.request.method': method,
      'http.response.status_code': status,
    });
  }

  async render(): Promise<string> {
    const { resourceMetrics } = await this.reader.collect();
    return this.serializer.serialize(resourceMetrics);
  }
}
