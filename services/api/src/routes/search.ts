import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import semver from 'semver';
import { AppError } from '@profiles/shared';
import { answerKey, type CatalogEtags } from '../etag.ts';
import { chooseEncoding, EncodedBody, type PageEncoding } from '../page-encodings.ts';
import { SearchPages, type Page } from '../search-pages.ts';
import type { Search, SearchQuery } from '../search.ts';
import { queryWords } from '../search-query.ts';

/** Each word costs a set operation (Redis) or a scratch array (mirror): a query has a handful, never hundreds. */
const MAX_QUERY_WORDS = 16;

/** Rejects query parameters a route does not know, naming the first one (a typo must not silently widen a search). */
export function onlyKnownParams(known: readonly string[]) {
  return (req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
    for (const k of Object.keys((req.query ?? {}) as object)) {
      if (!known.includes(k)) {
        done(
          new AppError(
            'BAD_REQUEST',
            `unknown query parameter ${JSON.stringify(k)}; known: ${known.join(', ')}`,
            { details: { parameter: k } },
          ),
        );
        return;
      }
    }
    done();
  };
}

const SEARCH_PARAMS = [
  'q',
  'limit',
  'cursor',
  'catalog',
  'maintainer',
  'kind',
  'prerelease',
  'version',
  'sort',
  'versions',
  'facetLimit',
] as const;

export const searchQuerySchema = {
  type: 'object',
  properties: {
    q: {
      type: 'string',
      maxLength: 200,
      default: '',
      description:
        'words to find in name (weighs most), description, maintainer, prerequisites; at most 16 words',
    },
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
    cursor: { type: 'string', maxLength: 200, description: 'nextCursor of the previous page' },
    catalog: { type: 'string', maxLength: 317, description: 'catalog name or namespace/name' },
    maintainer: { type: 'string', maxLength: 200 },
    kind: {
      type: 'string',
      enum: ['chart', 'kustomize', 'profile'],
      description: 'has an artifact of this kind',
    },
    prerelease: { type: 'string', enum: ['include', 'exclude', 'only'], default: 'include' },
    version: {
      type: 'string',
      maxLength: 200,
      description: 'has a version matching this semver range, e.g. ^1.2 or >=2 <3',
    },
    sort: { type: 'string', enum: ['relevance', 'name', 'updated'], default: 'relevance' },
    versions: {
      type: 'string',
      enum: ['latest', 'all'],
      default: 'latest',
      description: 'one hit per profile, or all its versions',
    },
    facetLimit: {
      type: 'integer',
      minimum: 0,
      maximum: 1000,
      default: 10,
      description:
        'values listed per facet, most frequent first (0: none); facetTotals gives how many each facet has',
    },
  },
} as const;

export interface SearchRouteDeps {
  search: Search;
  /** The catalog generation followed live, or undefined (then pages are looked up after the app's ETag hook). */
  generation: () => string | undefined;
  etags: CatalogEtags;
}

export function searchRoutes(app: FastifyInstance, deps: SearchRouteDeps): void {
  const pages = new SearchPages();
  /** A page of the request's search; the earlier page itself when the ranking says its result holds still. */
  const compute =
    (req: FastifyRequest<{ Querystring: SearchQuery }>) =>
    async (earlier?: Page): Promise<Page> => {
      const out = await deps.search.search(req.query, req.catalog, req.catalogGeneration, earlier?.stable);
      if ('unchanged' in out) return earlier!;
      const { result, engine, stable } = out;
      return {
        body: new EncodedBody(Buffer.from(JSON.stringify(result))),
        engine,
        ...(stable !== undefined ? { stable } : {}),
      };
    };
  const encodingFor = (req: FastifyRequest, page: Page) =>
    chooseEncoding(req.headers['accept-encoding'], page.body.identity.length);
  const send = (
    reply: FastifyReply,
    answer: string | undefined,
    page: Page,
    encoding: PageEncoding | undefined,
  ) => {
    reply
      .type('application/json; charset=utf-8')
      // Which engine ranked the page (memory: this replica's mirror; redis: set operations in Redis).
      .header('x-search-engine', page.engine)
      .header('vary', 'accept-encoding');
    if (encoding === undefined) return reply.send(page.body.identity);
    const { bytes, added } = page.body.get(encoding);
    if (added > 0 && answer !== undefined) pages.grow(answer, page, added); // the cache's budget counts every form
    return reply.header('content-encoding', encoding).send(bytes);
  };
  app.get<{ Querystring: SearchQuery }>(
    '/v1/search',
    {
      schema: {
        summary: 'Search the catalog',
        tags: ['catalog'],
        querystring: searchQuerySchema,
      },
      /**
       * A page already computed for this exact URL at the live generation is answered here, before parameter
       * checks, validation and the handler: that URL passed them when the page was computed (errors are never
       * cached), and they would decide the same again. Runs after every onRequest hook (rate limit, CORS).
       */
      preParsing: (req, reply, payload, done) => {
        const generation = deps.generation();
        const answer = answerKey(req);
        const page = generation === undefined ? undefined : pages.get(generation, answer);
        if (page === undefined) {
          done(null, payload);
          return;
        }
        const encoding = encodingFor(req, page);
        if (!deps.etags.tag(req, reply, generation!, encoding)) send(reply, answer, page, encoding);
      },
      preValidation: onlyKnownParams(SEARCH_PARAMS),
      // Pages carry their own compressed forms (page-encodings.ts), and a GET has no body to inflate: the
      // plugin's three hooks per request would only look and pass.
      compress: false,
      decompress: false,
    },
    async (req, reply) => {
      if (req.query.version !== undefined && semver.validRange(req.query.version) === null) {
        throw new AppError(
          'BAD_REQUEST',
          `version ${JSON.stringify(req.query.version)} is not a semver range`,
          {
            details: { parameter: 'version' },
          },
        );
      }
      if (queryWords(req.query.q).length > MAX_QUERY_WORDS) {
        throw new AppError('BAD_REQUEST', `q has more than ${MAX_QUERY_WORDS} words`, {
          details: { parameter: 'q' },
        });
      }
      const generation = req.catalogGeneration;
      const answer = answerKey(req);
      const page = await pages.obtain(generation, answer, compute(req));
      const encoding = encodingFor(req, page);
      // The app's ETag named the plain body; a compressed one has its own.
      if (encoding !== undefined && generation !== undefined)
        reply.header('etag', deps.etags.etag(answer, generation, encoding));
      return send(reply, generation === undefined ? undefined : answer, page, encoding);
    },
  );
}
