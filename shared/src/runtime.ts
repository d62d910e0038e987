/**
 * `@profiles/shared/runtime`: the machinery every service process runs on, not a contract between services:
 * Redis and NATS connections, the JetStream consumer runner, retry with backoff, logging, metrics, tracing, the
 * health server, the service runner and shutdown, and the redaction of credentials from text.
 */
export { createLogger, type Logger, silentLogger } from './log.ts';
export { backoffDelay, type BackoffOptions, retry } from './retry.ts';
export { connectRedis, Redis, waitForRedis } from './redis.ts';
export {
  connectJetStream,
  connectNats,
  type Consumer,
  type ConsumerRef,
  consumerSpec,
  ensureConsumer,
  ensureStreams,
  type JetStreamClient,
  type JetStreamHandles,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  type Subscription,
} from './nats.ts';
export { type FinalStatus, lastFinalStatus, publishFinalStatus } from './install-status-log.ts';
export {
  ack,
  type ConsumerRunner,
  type ConsumerRunnerOptions,
  retryAfter,
  runConsumer,
  terminate,
  type Verdict,
} from './consumer-runner.ts';
export { type ReadinessCheck, runChecks, startHealthServer } from './health.ts';
export {
  type Attributes,
  ConsumerMetrics,
  type Counter,
  type Histogram,
  ServiceMetrics,
  SLOW_WORK_BUCKETS_S,
} from './metrics.ts';
export {
  type Context,
  contextFromAttributes,
  contextFromHeaders,
  contextFromHttpHeaders,
  inSpan,
  inSpanSync,
  runInContext,
  type Span,
  SpanKind,
  SpanStatusCode,
  startSpan,
  startTracing,
  traceAttributes,
  traceHeaders,
  tracer,
  tracingEnabled,
} from './tracing.ts';
export { exitOnStartError, onShutdown, type RunningService, runService } from './shutdown.ts';
export { redactSecrets, redactUrl } from './redact.ts';
