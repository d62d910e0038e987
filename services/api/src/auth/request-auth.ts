import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CatalogReader } from '../catalog-reader.ts';
import type { Audience } from './audience.ts';
import type { Authenticator } from './authenticate.ts';
import type { Identity } from './identity.ts';
import type { Visibility } from './visibility.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who asks (set before any handler of a non-public route). */
    identity: Identity;
    /** The sources the caller sees. */
    audience: Audience;
    /** The catalog as the caller may see it: every route reads through this, never an unscoped reader. */
    catalog: CatalogReader;
  }
  interface FastifyContextConfig {
    /** A route anyone may call without a token (probes, metrics, the API description, signed webhooks). */
    public?: boolean;
  }
}

/**
 * Authenticates every request before anything else of the app runs, and gives it its audience and its scoped
 * catalog reader. Routes are closed unless they say `config: { public: true }`; the swagger UI is public.
 * Callback-style, so a known token costs no promise: one Map lookup for the identity, one for the audience.
 */
export function requestAuth(
  app: FastifyInstance,
  deps: { authenticator: Authenticator; visibility: Visibility; reader: CatalogReader },
): void {
  app.decorateRequest('identity', undefined as unknown as Identity);
  app.decorateRequest('audience', undefined as unknown as Audience);
  app.decorateRequest('catalog', undefined as unknown as CatalogReader);
  const scope = (req: FastifyRequest, identity: Identity, done: (err?: Error) => void) => {
    req.identity = identity;
    const a = deps.visibility.audience(identity);
    const set = (audience: Audience) => {
      req.audience = audience;
      req.catalog = deps.reader.forAudience(audience);
      done();
    };
    if (a instanceof Promise) a.then(set, done);
    else set(a);
  };
  app.addHook('onRequest', (req, _reply, done) => {
    if (req.routeOptions.config?.public || req.url.startsWith('/docs')) {
      done();
      return;
    }
    const header = req.headers.authorization;
    const known = deps.authenticator.known(header);
    if (known) {
      scope(req, known, done);
      return;
    }
    deps.authenticator.identify(header).then((identity) => scope(req, identity, done), done);
  });
}
