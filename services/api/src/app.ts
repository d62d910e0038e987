import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import compress from '@fastify/compress';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import { AppError, catalogKeys, installationKeys, type CatalogKeys } from '@profiles/shared';
import type { JetStreamHandles, Logger, Redis } from '@profiles/shared/runtime';
import { CatalogGeneration, type CatalogFollower } from './catalog-generation.ts';
import { CatalogReader, type KnownSources } from './catalog-reader.ts';
import { CatalogEtags } from './etag.ts';
import { COMPRESS_MIN_BYTES } from './page-encodings.ts';
import { Metrics } from './metrics.ts';
import { traceRequests } from './request-tracing.ts';
import { catalogRoutes } from './routes/catalogs.ts';
import { eventRoutes } from './routes/events.ts';
import { profilesRoutes } from './routes/profiles.ts';
import { startInstallOutbox } from './install-outbox.ts';
import { InstallRequests } from './install-requests.ts';
import { InstallerRelay } from './installer-relay.ts';
import { installationsRoutes } from './routes/installations.ts';
import { refreshRoutes } from './routes/refresh.ts';
import { searchRoutes } from './routes/search.ts';
import { Search } from './search.ts';
import { SearchMirror } from './search-mirror.ts';
import { requestAuth } from './auth/request-auth.ts';
import { openAuth, type ApiAuth } from './auth/setup.ts';
import { EVERYTHING } from './auth/audience.ts';
import { Visibility } from './auth/visibility.ts';
import { MirrorLoader } from './mirror-loader.ts';
import { RedisSearch } from './search-redis.ts';
import { completeOpenApi } from './openapi.ts';
import { webRoutes } from './web.ts';
import { clientErrorHandler, setErrorHandlers } from './http-errors.ts';

export interface ApiDeps {
  redis: Redis;
  /** A writable Redis for search's cached results and rate-limit counters (default: `redis`). */
  writeRedis?: Redis;
  redisPrefix: string;
  log: Logger;
  /** NATS, for the endpoints that publish (refresh, webhooks, install requests) or stream (events); reads need only Redis. */
  nats?: JetStreamHandles;
  webhookSecret?: string | undefined;
  corsOrigins?: string[];
  /** Requests per minute per client address; 0 turns rate limiting off. */
  rateLimitPerMinute?: number;
  sseHeartbeatMs?: number;
  /**
   * Follow the catalog generation by pub/sub instead of reading it per request, and search an in-memory mirror
   * of the indexes (default true); false: every request asks Redis.
   */
  liveGeneration?: boolean;
  /** Authentication and authorization (auth/setup.ts); default: an open API, as `npm start` runs it. */
  auth?: ApiAuth;
}

declare module 'fastify' {
  interface FastifyInstance {
    routeList: readonly { method: string; url: string; public: boolean }[];
  }
}

/** GET endpoints whose answer follows the catalog generation (their ETag is made from it). */
function catalogRead(url: string): boolean {
  return !['/v1/events', '/v1/installations', '/v1/repositories/'].some((p) => url.startsWith(p));
}

/**
 * Builds the Fastify app (not listening): plugins, routes, validation and the error mapping. It holds no state
 * of its own (results, counters and the catalog live in Redis), so any number of replicas answer alike.
 */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = createServer(deps.log);
  const keys = catalogKeys(deps.redisPrefix);
  // Catalogs named in URLs resolve from the sources Visibility follows, while it is in step.
  const reader: CatalogReader = new CatalogReader(
    deps.redis,
    keys,
    EVERYTHING,
    (): KnownSources | undefined => visibility.known(),
  );
  const writeRedis = deps.writeRedis ?? deps.redis;
  const metrics = new Metrics();
  // With live generation, search answers from an in-memory mirror of the indexes that follows every change.
  const live = deps.liveGeneration !== false;
  const loader = live ? new MirrorLoader(reader) : undefined;
  const auth = deps.auth ?? openAuth();
  const visibility: Visibility = new Visibility({
    reader,
    defaultAccess: auth.defaultAccess,
    rbac: auth.rbac,
    live: (): boolean => catalogGeneration.followed() !== undefined,
    inStep: (): boolean => catalogGeneration.inStep(),
  });
  const catalogGeneration: CatalogGeneration = new CatalogGeneration({
    redis: deps.redis,
    reader,
    log: deps.log,
    ...(loader ? { follower: followBoth(loader, visibility) } : {}),
  });
  if (live) {
    catalogGeneration.start();
    app.addHook('onClose', async () => catalogGeneration.close());
  }

  const openApiDocument = await registerPlugins(app, deps, writeRedis);

  // Per-request fields are declared up front, so every request object has the same shape (V8 keeps it fast).
  app.decorateRequest('catalogGeneration', undefined);
  requestAuth(app, { authenticator: auth.authenticator, visibility, reader });
  // Hooks on every request are callback-style where they need not wait: no promise per hook per request.
  // Fastify times every reply from before the onRequest hooks (elapsedTime): no hook of ours to start a clock.
  traceRequests(app);
  app.addHook('onResponse', (req, reply, done) => {
    metrics.observe(req.routeOptions.url ?? 'unknown', req.method, reply.statusCode, reply.elapsedTime);
    done();
  });
  const etags = new CatalogEtags();
  catalogEtags(app, etags, catalogGeneration, reader);

  setErrorHandlers(app, deps.redis);

  healthRoutes(app, deps.redis, keys, metrics, openApiDocument, loader);
  await webRoutes(app);
  profilesRoutes(app);
  searchRoutes(app, {
    search: new Search([
      ...(loader
        ? [
            new SearchMirror(
              loader,
              () => catalogGeneration.followed(),
              (g, ms) => catalogGeneration.whenFollowed(g, ms),
            ),
          ]
        : []),
      new RedisSearch(writeRedis, keys, reader),
    ]),
    generation: () => catalogGeneration.current(),
    etags,
  });
  catalogRoutes(app);
  refreshRoutes(app, { reader, policy: auth.policy, js: deps.nats?.js, webhookSecret: deps.webhookSecret });
  eventRoutes(app, {
    metrics,
    js: deps.nats?.js,
    audience: (identity) => visibility.audience(identity),
    ...(deps.sseHeartbeatMs ? { heartbeatMs: deps.sseHeartbeatMs } : {}),
  });
  installRoutes(app, deps, writeRedis, auth);
  return app;
}

/** The search mirror and the visibility follow the catalog together: one announcement, both reloaded. */
function followBoth(a: CatalogFollower, b: CatalogFollower): CatalogFollower {
  return {
    reloadAll: async () => {
      await Promise.all([a.reloadAll(), b.reloadAll()]);
    },
    reloadSource: async (id) => {
      await Promise.all([a.reloadSource(id), b.reloadSource(id)]);
    },
    announced: (id) => {
      a.announced?.(id);
      b.announced?.(id);
    },
  };
}

/**
 * Fastify's plugins: the OpenAPI document and its UI, compression, CORS and the rate limit (counted in the
 * writable Redis). Returns the completed OpenAPI document's getter.
 */
async function registerPlugins(
  app: FastifyInstance,
  deps: ApiDeps,
  writeRedis: Redis,
): Promise<() => Record<string, unknown>> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Profiles API',
        version: '1.0.0',
        description:
          'Catalog, search and events of Profiles; the original /v1/profiles endpoints of weaveworks/profiles included.',
      },
      tags: [{ name: 'original' }, { name: 'catalog' }, { name: 'sources' }, { name: 'events' }],
    },
  });
  // The document the routes give, completed once (operation ids, every answer, examples: openapi.ts).
  let openapi: Record<string, unknown> | undefined;
  const openApiDocument = () => (openapi ??= completeOpenApi(app.swagger() as Record<string, unknown>));
  await app.register(swaggerUi, { routePrefix: '/docs', transformSpecification: () => openApiDocument() });
  await app.register(compress, { global: true, threshold: COMPRESS_MIN_BYTES });
  if (deps.corsOrigins?.length) {
    await app.register(cors, {
      origin: deps.corsOrigins.includes('*') ? true : deps.corsOrigins,
      exposedHeaders: ['etag'],
    });
  }
  if (deps.rateLimitPerMinute) {
    await app.register(rateLimit, {
      max: deps.rateLimitPerMinute,
      timeWindow: 60_000,
      redis: writeRedis,
      nameSpace: `${deps.redisPrefix}ratelimit:`,
      skipOnError: true, // Redis away: serve rather than refuse everyone
      allowList: (req) => ['/healthz', '/readyz', '/metrics'].includes(req.url),
      errorResponseBuilder: (_req, ctx) =>
        new AppError(
          'RATE_LIMITED',
          `rate limit of ${ctx.max} requests per minute exceeded; retry in ${Math.ceil(ctx.ttl / 1000)} s`,
        ),
    });
  }
  return openApiDocument;
}

/** The public routes of operations: liveness, readiness (Redis and a whole catalog), metrics, the OpenAPI document. */
function healthRoutes(
  app: FastifyInstance,
  redis: Redis,
  keys: CatalogKeys,
  metrics: Metrics,
  openApiDocument: () => Record<string, unknown>,
  loader: MirrorLoader | undefined,
): void {
  const open = { schema: { hide: true }, config: { public: true } };
  if (loader)
    metrics.gauge(
      'profiles_api_search_mirror_profiles',
      "profiles in this replica's search mirror",
      () => loader.size,
    );
  app.get('/healthz', open, async () => ({ status: 'ok' }));
  app.get('/readyz', open, async (_req, reply) => {
    // The catalog check: the indexer writes the epoch once the catalog is whole, and removes it to rebuild.
    const epoch = redis.status === 'ready' ? await redis.exists(keys.catalogEpoch()).catch(() => -1) : -1;
    const checks = { redis: epoch >= 0, catalog: epoch === 1 };
    const ok = checks.redis && checks.catalog;
    // Not a check: until the mirror is loaded, searches are answered from Redis (slower, still right).
    const mirror = loader ? { mirror: { loaded: loader.index !== undefined, profiles: loader.size } } : {};
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready', checks, ...mirror });
  });
  app.get('/metrics', open, async (_req, reply) => {
    reply.type('text/plain; version=0.0.4');
    return metrics.render();
  });
  app.get('/openapi.json', open, async () => openApiDocument());
}

/** The Fastify instance with the API's limits and parsers, listing every route it serves as `routeList`. */
function createServer(log: Logger): FastifyInstance {
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    // A catalog `namespace/name` arrives URL-encoded (%2F) in one path segment.
    routerOptions: { maxParamLength: 512 },
    logController: new LogController({ disableRequestLogging: true }),
    clientErrorHandler,
    ajv: { customOptions: { coerceTypes: true, useDefaults: true, removeAdditional: false } },
  });
  // Every route the app serves, as registered: the access tests enumerate them so none can skip the check.
  const routes: { method: string; url: string; public: boolean }[] = [];
  app.decorate('routeList', routes);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat())
      routes.push({ method, url: r.url, public: !!(r.config as { public?: boolean } | undefined)?.public });
  });
  // Every body is JSON (webhooks: also form-encoded): a text body is refused with 415, not read as a string.
  app.removeContentTypeParser('text/plain');
  return app;
}

/** Answers conditional catalog reads: the ETag of a catalog read is made from the generation it reads. */
function catalogEtags(
  app: FastifyInstance,
  etags: CatalogEtags,
  catalogGeneration: CatalogGeneration,
  reader: CatalogReader,
): void {
  // Strong ETags from the catalog generation: any catalog change changes every tag; If-None-Match -> 304.
  // Install status and repository scans change without the catalog changing: they carry no such tag.
  app.addHook('preHandler', (req, reply, done) => {
    if (req.method !== 'GET' || !req.url.startsWith('/v1/') || !catalogRead(req.url)) {
      done();
      return;
    }
    const live = catalogGeneration.current();
    if (live !== undefined) {
      if (!etags.tag(req, reply, live)) done(); // answered 304 otherwise
      return;
    }
    reader.generation().then(
      (generation) => {
        if (!etags.tag(req, reply, generation)) done();
      },
      (err: Error) => done(err),
    );
  });
}

/** Install requests and their status are written: the writable Redis; with NATS, the outbox publishes them. */
function installRoutes(app: FastifyInstance, deps: ApiDeps, writeRedis: Redis, auth: ApiAuth): void {
  const installKeys = installationKeys(deps.redisPrefix);
  const requests = new InstallRequests({
    redis: writeRedis,
    keys: installKeys,
    policy: auth.policy,
    nats: deps.nats,
    log: deps.log,
  });
  installationsRoutes(app, { requests, relay: new InstallerRelay(deps.nats?.nc), policy: auth.policy });
  if (deps.nats) {
    const stopOutbox = startInstallOutbox({ redis: writeRedis, keys: installKeys, requests, log: deps.log });
    app.addHook('onClose', async () => stopOutbox());
  }
}
