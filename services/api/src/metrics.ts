import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { defaultResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import { ServiceMetrics, type Counter } from '@profiles/shared/runtime';

/**
 * The API's metrics (see ServiceMetrics), at `/metrics` on its own port: request count and duration by route,
 * method and status, and the catalog events it streamed to SSE clients.
 */

/** Upper bounds (ms, inclusive) of the duration buckets; one more bucket holds everything above. */
export const DURATION_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500];

interface Series {
  attributes: Attributes;
  counts: number[];
  sum: number;
  count: number;
  min: number;
  max: number;
}

function hrTimeOf(epochMs: number): HrTime {
  return [Math.floor(epochMs / 1000), Math.round((epochMs % 1000) * 1e6)];
}

/**
 * Request durations, aggregated here and handed to OpenTelemetry at collection as a MetricProducer: the SDK's
 * own histogram hashes the attributes of every recording (sorting and serialising them), which at tens of
 * thousands of requests per second was a visible share of a cached search. Here a request costs one Map lookup
 * by a short key and a few additions; what OpenTelemetry exports is the same cumulative explicit-bucket
 * histogram (checked against the SDK's in metrics.test.ts).
 */
class RequestDurations implements MetricProducer {
  private readonly series = new Map<string, Series>();
  private readonly startTime = hrTimeOf(Date.now());

  observe(route: string, method: string, status: number, ms: number): void {
    const key = `${status} ${method} ${route}`;
    let s = this.series.get(key);
    if (s === undefined) {
      s = {
        attributes: {
          'http.route': route,
          'http.request.method': method,
          'http.response.status_code': status,
        },
        counts: new Array<number>(DURATION_BUCKETS_MS.length + 1).fill(0),
        sum: 0,
        count: 0,
        min: Infinity,
        max: -Infinity,
      };
      this.series.set(key, s);
    }
    let i = 0;
    while (i < DURATION_BUCKETS_MS.length && ms > DURATION_BUCKETS_MS[i]!) i++;
    s.counts[i]!++;
    s.sum += ms;
    s.count++;
    if (ms < s.min) s.min = ms;
    if (ms > s.max) s.max = ms;
  }

  async collect(): Promise<CollectionResult> {
    const endTime = hrTimeOf(Date.now());
    return {
      errors: [],
      resourceMetrics: {
        resource: defaultResource(),
        scopeMetrics: [
          {
            scope: { name: 'profiles-api' },
            metrics: [
              {
                descriptor: {
                  name: 'http_server_request_duration',
                  description: 'HTTP request duration',
                  unit: 'ms',
                  valueType: ValueType.DOUBLE,
                },
                aggregationTemporality: AggregationTemporality.CUMULATIVE,
                dataPointType: DataPointType.HISTOGRAM,
                dataPoints: [...this.series.values()].map((s) => ({
                  attributes: s.attributes,
                  startTime: this.startTime,
                  endTime,
                  value: {
                    buckets: { boundaries: DURATION_BUCKETS_MS, counts: [...s.counts] },
                    sum: s.sum,
                    count: s.count,
                    min: s.min,
                    max: s.max,
                  },
                })),
              },
            ],
          },
        ],
      },
    };
  }
}

export class Metrics extends ServiceMetrics {
  private readonly durations: RequestDurations;
  /** Catalog events written to SSE clients. */
  readonly sseEvents: Counter;
  /** SSE clients connected now. */
  sseClients = 0;

  constructor() {
    const durations = new RequestDurations();
    super('api', [durations]);
    this.durations = durations;
    this.sseEvents = this.counter('profiles_sse_events_sent', 'catalog events written to SSE clients');
    this.sseEvents.add(0);
    this.gauge('profiles_sse_clients', 'SSE clients connected', () => this.sseClients);
  }

  observe(route: string, method: string, status: number, ms: number): void {
    this.durations.observe(route, method, status, ms);
  }
}
