import type { FastifyInstance } from 'fastify';
import type { CatalogEntry } from '@profiles/shared';

/**
 * The original `/v1/profiles...` endpoints of weaveworks/profiles, with their JSON field names, so existing
 * clients (pctl) keep working. Entries carry extra fields (version, catalogNamespace, ...); old clients
 * ignore them. Each reads through the request's catalog reader: hidden catalogs are not found.
 */
export function profilesRoutes(app: FastifyInstance): void {
  const params = {
    catalog: { type: 'string', minLength: 1, maxLength: 317 },
    profile: { type: 'string', minLength: 1, maxLength: 200 },
    version: { type: 'string', minLength: 1, maxLength: 256 },
  } as const;

  app.get<{ Querystring: { name?: string } }>(
    '/v1/profiles',
    { schema: { querystring: { type: 'object', properties: { name: { type: 'string', maxLength: 200 } } } } },
    async (req) => ({ items: await req.catalog.listByName(req.query.name ?? '') }),
  );

  app.get<{ Params: { catalog: string; profile: string } }>(
    '/v1/profiles/:catalog/:profile',
    {
      schema: {
        params: {
          type: 'object',
          properties: { catalog: params.catalog, profile: params.profile },
          required: ['catalog', 'profile'],
        },
      },
    },
    async (req) => ({ item: await req.catalog.version(req.params.catalog, req.params.profile, 'latest') }),
  );

  app.get<{ Params: { catalog: string; profile: string; version: string } }>(
    '/v1/profiles/:catalog/:profile/:version',
    {
      schema: { params: { type: 'object', properties: params, required: ['catalog', 'profile', 'version'] } },
    },
    async (req) => ({
      item: await req.catalog.version(req.params.catalog, req.params.profile, req.params.version),
    }),
  );

  app.get<{ Params: { catalog: string; profile: string; version: string } }>(
    '/v1/profiles/:catalog/:profile/:version/available_updates',
    {
      schema: { params: { type: 'object', properties: params, required: ['catalog', 'profile', 'version'] } },
    },
    async (req): Promise<{ items: CatalogEntry[] }> => ({
      items: await req.catalog.availableUpdates(req.params.catalog, req.params.profile, req.params.version),
    }),
  );
}
