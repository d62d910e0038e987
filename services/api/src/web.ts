import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

/** The web catalog's build (web/dist), beside the API in the repository and in the image. */
export const WEB_DIST = resolve(import.meta.dirname, '../../../web/dist');

/**
 * Serves the web catalog at `/` when it has been built: hashed files under /assets/ are cached for a year
 * (their names change with their content), index.html never (it names the current assets).
 */
export async function webRoutes(app: FastifyInstance, dir = WEB_DIST): Promise<void> {
  if (!existsSync(join(dir, 'index.html'))) return;
  const assets = join(dir, 'assets');
  await app.register(fastifyStatic, {
    root: dir,
    serve: false,
    cacheControl: false,
    setHeaders: (res, path) => {
      res.setHeader(
        'cache-control',
        path.startsWith(assets) ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
  // The page and its scripts hold no catalog data: they load without a token, then ask for one on a 401.
  const open = { schema: { hide: true }, config: { public: true } };
  app.get('/', open, (_req, reply) => reply.sendFile('index.html'));
  app.get<{ Params: { '*': string } }>('/assets/*', open, (req, reply) =>
    reply.sendFile(`assets/${req.params['*']}`),
  );
}
