import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERRORS, isAppError, isStoreFailure } from '@profiles/shared';
import type { Redis } from '@profiles/shared/runtime';

/**
 * How the API answers errors: its own (AppError) and Fastify's (validation, limits, unknown routes) as RFC 9457
 * problems, or the original `/v1/profiles` shape on those endpoints; errors of the HTTP parser alike; a failure
 * of Redis or the network as 503, anything else as 500 without internals.
 */

/** The original `/v1/profiles` endpoints keep their error shape; every other endpoint answers RFC 9457 problems. */
function isOriginal(req: FastifyRequest): boolean {
  return req.url.startsWith('/v1/profiles');
}

/** An RFC 9457 problem document for an error. */
function problem(err: AppError, instance: string | undefined): Record<string, unknown> {
  return {
    type: `https://profiles.dev/problems/${err.code.toLowerCase().replace(/_/g, '-')}`,
    title: ERRORS[err.code].title,
    status: err.status,
    detail: err.message,
    ...(instance === undefined ? {} : { instance }),
    code: err.code,
    ...(err.details ?? {}),
  };
}

export function sendError(req: FastifyRequest, reply: FastifyReply, err: AppError): FastifyReply {
  if (err.status === 401) reply.header('www-authenticate', 'Bearer');
  if (isOriginal(req)) return reply.status(err.status).send(err.toJSON());
  return reply
    .status(err.status)
    .type('application/problem+json')
    .send(problem(err, req.url.split('?')[0]));
}

/**
 * Errors Node's HTTP parser meets before Fastify sees a request (headers too large, malformed requests) get the
 * same problem format, then the connection is closed as Node would.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new AppError('HEADERS_TOO_LARGE', 'the request headers are larger than the server accepts (16 KiB)')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new AppError('BAD_REQUEST', 'the request did not arrive in time')
        : new AppError('BAD_REQUEST', 'malformed HTTP request');
  const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : e.status;
  const body = JSON.stringify({ ...problem(e, undefined), status });
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/problem+json\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy(err);
}

/** Fastify answers 415 for a body without a content type or with one no parser reads. */
function unsupportedMediaType(req: FastifyRequest): AppError {
  const type = req.headers['content-type'];
  const accepted = req.url.startsWith('/v1/webhooks/')
    ? 'application/json or application/x-www-form-urlencoded'
    : 'application/json';
  return new AppError(
    'UNSUPPORTED_MEDIA_TYPE',
    type
      ? `content type ${JSON.stringify(type)} is not accepted here; send ${accepted}`
      : `a request body needs a content type; send ${accepted}`,
    { details: { parameter: 'content-type', in: 'header' } },
  );
}

/** The error and not-found handlers of the app; `redis` tells a store failure (503) from a bug (500). */
export function setErrorHandlers(app: FastifyInstance, redis: Redis): void {
  app.setErrorHandler((err, req, reply) => {
    if (isAppError(err)) return sendError(req, reply, err);
    const e = err as {
      validation?: { instancePath?: string; params?: { missingProperty?: string } }[];
      validationContext?: string;
      statusCode?: number;
      message: string;
      code?: string;
    };
    if (e.validation) {
      const v = e.validation[0];
      const parameter = v?.params?.missingProperty ?? v?.instancePath?.replace(/^\//, '') ?? undefined;
      return sendError(
        req,
        reply,
        new AppError('BAD_REQUEST', e.message, { details: { parameter, in: e.validationContext } }),
      );
    }
    if (e.statusCode === 429) return sendError(req, reply, new AppError('RATE_LIMITED', e.message));
    if (e.statusCode === 413) return sendError(req, reply, new AppError('PAYLOAD_TOO_LARGE', e.message));
    if (e.statusCode === 415) return sendError(req, reply, unsupportedMediaType(req));
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500)
      return sendError(req, reply, new AppError('BAD_REQUEST', e.message));
    req.log.error({ err }, 'request failed');
    const unavailable = redis.status !== 'ready' || isStoreFailure(err);
    return sendError(
      req,
      reply,
      unavailable
        ? new AppError('UNAVAILABLE', 'the catalog store is unavailable, retry shortly')
        : new AppError('INTERNAL', 'internal error'),
    );
  });
  app.setNotFoundHandler((req, reply) => {
    sendError(req, reply, new AppError('ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));
  });
}
