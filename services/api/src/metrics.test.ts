import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { DURATION_BUCKETS_MS, Metrics } from './metrics.ts';

class Reader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const observations: [string, string, number, number][] = [
  ['/v1/search', 'GET', 200, 0.2],
  ['/v1/search', 'GET', 200, 1], // on a boundary: counted in its bucket (upper bounds are inclusive)
  ['/v1/search', 'GET', 200, 1.0001],
  ['/v1/search', 'GET', 304, 3],
  ['/v1/search', 'GET', 400, 2500],
  ['/v1/search', 'GET', 200, 9000], // above every bound
  ['/v1/profiles', 'GET', 200, 42],
  ['/v1/installations', 'POST', 202, 7.5],
];

/** The metric's lines, without the timestamp-free but order-dependent preamble. */
const lines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('http_server_request_duration'))
    .sort();

test('request durations export exactly what the OpenTelemetry SDK histogram exports for the same recordings', async () => {
  const metrics = new Metrics();
  const reader = new Reader({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  const histogram = new MeterProvider({ readers: [reader] })
    .getMeter('profiles-api')
    .createHistogram('http_server_request_duration', {
      unit: 'ms',
      description: 'HTTP request duration',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_MS },
    });
  for (const [route, method, status, ms] of observations) {
    metrics.observe(route, method, status, ms);
    histogram.record(ms, {
      'http.route': route,
      'http.request.method': method,
      'http.response.status_code': status,
    });
  }
  const ours = await metrics.render();
  const sdk = new PrometheusSerializer().serialize((await reader.collect()).resourceMetrics);
  assert.ok(lines(ours).length > 20, ours);
  assert.deepEqual(lines(ours), lines(sdk));
  assert.match(ours, /# TYPE http_server_request_duration histogram/);
  assert.match(
    ours,
    /http_server_request_duration_bucket\{http_route="\/v1\/search",http_request_method="GET",http_response_status_code="200",otel_scope_name="profiles-api",le="1"\} 2/,
  );
});

test('a render is a snapshot: later requests do not change a collected result', async () => {
  const metrics = new Metrics();
  metrics.observe('/healthz', 'GET', 200, 0.5);
  const first = await metrics.render();
  metrics.observe('/healthz', 'GET', 200, 0.5);
  assert.match(first, /http_server_request_duration_count\{[^}]*\} 1\n/);
  assert.match(await metrics.render(), /http_server_request_duration_count\{[^}]*\} 2\n/);
});
