import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  contextFromHttpHeaders,
  runInContext,
  SpanKind,
  SpanStatusCode,
  startSpan,
  tracingEnabled,
  type Span,
} from '@profiles/shared/runtime';

/**
 * A server span per request when tracing is on (see shared tracing.ts), continuing the caller's `traceparent`;
 * the handler runs inside it, so an install request's publish and everything downstream join the same trace.
 * Off, no hook is added.
 */
export function traceRequests(app: FastifyInstance): void {
  if (!tracingEnabled()) return;
  const spans = new WeakMap<FastifyRequest, Span>();
  app.addHook('onRequest', (req, _reply, done) => {
    const route = req.routeOptions.url ?? 'unknown';
    const { span, ctx } = startSpan(
      `${req.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': req.method, 'http.route': route },
      },
      contextFromHttpHeaders(req.headers),
    );
    spans.set(req, span);
    // Fastify calls the next hooks and the handler from done: inside the span's context.
    runInContext(ctx, done);
  });
  app.addHook('onResponse', (req, reply, done) => {
    const span = spans.get(req);
    if (span) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });
}
