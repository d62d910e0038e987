import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  AppError,
  catalogKeys,
  isAppError,
  type JetStreamHandles,
  type Logger,
  type Redis,
} from '@profiles/shared';
import { CatalogReader } from './catalog-reader.ts';
import { profilesRoutes } from './routes/profiles.ts';
import { refreshRoutes } from './routes/refresh.ts';

export interface ApiDeps {
  redis: Redis;
  redisPrefix: string;
  log: Logger;
  /** NATS, for the endpoints that publish (refresh, webhooks); the read endpoints need only Redis. */
  nats?: JetStreamHandles;
  webhookSecret?: string | undefined;
}

/**
 * Builds the Fastify app (not listening): routes, validation and the error mapping. Holds no state of its
 * own, so any number of replicas answer alike.
 */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    // A catalog `namespace/name` arrives URL-encoded (%2F) in one path segment.
    routerOptions: { maxParamLength: 512 },
    logController: new LogController({ disableRequestLogging: true }),
  });
  const keys = catalogKeys(deps.redisPrefix);
  const reader = new CatalogReader(deps.redis, keys);

  app.setErrorHandler((err, req, reply) => {
    if (isAppError(err)) return reply.status(err.status).send(err.toJSON());
    const e = err as { validation?: unknown; statusCode?: number; message: string; code?: string };
    if (e.validation) {
      const body = new AppError('BAD_REQUEST', e.message, { details: { validation: e.validation } });
      return reply.status(400).send(body.toJSON());
    }
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.status(e.statusCode).send({ code: e.code ?? 'BAD_REQUEST', message: e.message });
    }
    req.log.error({ err }, 'request failed');
    const unavailable =
      deps.redis.status !== 'ready' ||
      /ECONNREFUSED|ECONNRESET|Stream isn't writeable|max retries/i.test(e.message);
    return unavailable
      ? reply
          .status(503)
          .send(new AppError('UNAVAILABLE', 'the catalog store is unavailable, retry shortly').toJSON())
      : reply.status(500).send(new AppError('INTERNAL', 'internal error').toJSON());
  });
  app.setNotFoundHandler((req, reply) => {
    reply
      .status(404)
      .send(new AppError('ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`).toJSON());
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const ok = deps.redis.status === 'ready' && (await deps.redis.ping().catch(() => '')) === 'PONG';
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready', checks: { redis: ok } });
  });

  profilesRoutes(app, reader);
  refreshRoutes(app, { redis: deps.redis, keys, js: deps.nats?.js, webhookSecret: deps.webhookSecret });
  return app;
}
