import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';

/**
 * Traces with OpenTelemetry across every hop. Trace context travels as W3C `traceparent`/`tracestate`: in NATS
 * message headers between services, and inside a stored CloudEvent (its distributed-tracing extension
 * attributes) where work waits in Redis (the outboxes). Export is OTLP over HTTP, configured by the standard
 * variables (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_HEADERS`,
 * `OTEL_SERVICE_NAME`, `OTEL_BSP_*`); with neither endpoint set, or `OTEL_SDK_DISABLED=true` or
 * `OTEL_TRACES_EXPORTER=none`, nothing is set up and every span below is a no-op. Attributes name sources,
 * profiles, versions and repositories (URLs without credentials), never secrets.
 */
export const tracer = trace.getTracer('profiles');

export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** Sets up export when the OTEL_* variables ask for it; returns what flushes and stops it at shutdown. */
export function startTracing(service: string, env: NodeJS.ProcessEnv = process.env): () => Promise<void> {
  if (!tracingEnabled(env)) return async () => {};
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || `profiles-${service}` }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter() })],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return () => provider.shutdown();
}

/** Runs `fn` inside a new span (child of `parent`, default the active context); records a thrown error. */
export function inSpan<T>(
  name: string,
  opts: { kind?: SpanKind; attributes?: Attributes; parent?: Context },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = opts.parent ?? context.active();
  const span = tracer.startSpan(
    name,
    { kind: opts.kind ?? SpanKind.INTERNAL, ...(opts.attributes ? { attributes: opts.attributes } : {}) },
    parent,
  );
  let running: Promise<T>;
  try {
    running = context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    failed(span, err);
    return Promise.reject(err as Error);
  }
  return running.then(
    (v) => {
      span.end();
      return v;
    },
    (err: unknown) => {
      failed(span, err);
      throw err;
    },
  );
}

/** The same for synchronous work. */
export function inSpanSync<T>(name: string, attributes: Attributes, fn: () => T): T {
  const parent = context.active();
  const span = tracer.startSpan(name, { attributes }, parent);
  try {
    const v = context.with(trace.setSpan(parent, span), fn);
    span.end();
    return v;
  } catch (err) {
    failed(span, err);
    throw err;
  }
}

function failed(span: Span, err: unknown): void {
  span.recordException(err as Error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
  span.end();
}

/** Starts a span the caller ends, with the context to run its work in (for hooks that cannot wrap). */
export function startSpan(
  name: string,
  opts: { kind?: SpanKind; attributes?: Attributes },
  parent: Context = context.active(),
): { span: Span; ctx: Context } {
  const span = tracer.startSpan(name, opts, parent);
  return { span, ctx: trace.setSpan(parent, span) };
}

export function runInContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}

/** The trace context of an incoming HTTP request's `traceparent`/`tracestate` headers. */
export function contextFromHttpHeaders(h: Record<string, string | string[] | undefined>): Context {
  return propagation.extract(ROOT_CONTEXT, h);
}

/** NATS headers carrying the active trace context (undefined when there is none to carry). */
export function traceHeaders(ctx: Context = context.active()): MsgHdrs | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  if (!carrier.traceparent) return undefined;
  const h = natsHeaders();
  for (const [k, v] of Object.entries(carrier)) h.set(k, v);
  return h;
}

/** The trace context a NATS message carries in its headers (the root context when none). */
export function contextFromHeaders(h: MsgHdrs | undefined): Context {
  if (!h) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, h, {
    keys: (c) => c.keys(),
    get: (c, key) => (c.has(key) ? c.get(key) : undefined),
  });
}

/** The active trace context as CloudEvents distributed-tracing attributes, for events stored before sending. */
export function traceAttributes(ctx: Context = context.active()): {
  traceparent?: string;
  tracestate?: string;
} {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The trace context stored in an event's `traceparent`/`tracestate` attributes. */
export function contextFromAttributes(attrs: { traceparent?: unknown; tracestate?: unknown }): Context {
  const carrier: Record<string, string> = {};
  if (typeof attrs.traceparent === 'string') carrier.traceparent = attrs.traceparent;
  if (typeof attrs.tracestate === 'string') carrier.tracestate = attrs.tracestate;
  return propagation.extract(ROOT_CONTEXT, carrier);
}

export { SpanKind, SpanStatusCode } from '@opentelemetry/api';
export type { Context, Span } from '@opentelemetry/api';
