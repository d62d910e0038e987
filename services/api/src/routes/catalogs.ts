import type { FastifyInstance } from 'fastify';
import semver from 'semver';
import {
  AppError,
  isGreater,
  parseSourceId,
  type CatalogEntry,
  type NestedProfileNode,
  type ProfileUpdatesDoc,
  type ProfileVersionDoc,
  type ProfileVersionsDoc,
  type SourceView,
} from '@profiles/shared';
import type { CatalogReader } from '../catalog-reader.ts';
import { parseVersionParam } from '../catalog-versions.ts';
import { onlyKnownParams } from './search.ts';

/**
 * The richer read surface beside the original endpoints: profile detail with every version and the nested
 * profile tree, updates classified by semver, and catalog sources with their status. The documents' shapes are
 * in shared (api-documents.ts), where the CLI reads them too.
 */
export function catalogRoutes(app: FastifyInstance): void {
  profileRoutes(app);
  updateRoutes(app);
  sourceRoutes(app);
}

/** The path parameters of the profile routes. */
const params = {
  type: 'object',
  properties: {
    catalog: { type: 'string', minLength: 1, maxLength: 317 },
    profile: { type: 'string', minLength: 1, maxLength: 200 },
    version: { type: 'string', minLength: 1, maxLength: 256 },
  },
} as const;

/** A profile with every version, and one version with its artifacts and nested profile tree. */
function profileRoutes(app: FastifyInstance): void {
  app.get<{ Params: { catalog: string; profile: string } }>(
    '/v1/catalogs/:catalog/profiles/:profile',
    {
      schema: { summary: 'A profile: every version, newest first', tags: ['catalog'], params },
      preValidation: onlyKnownParams([]),
    },
    async (req): Promise<ProfileVersionsDoc> => {
      const versions = await req.catalog.versions(req.params.catalog, req.params.profile);
      const ref = await req.catalog.resolveCatalog(req.params.catalog);
      return {
        catalog: `${ref.namespace}/${ref.name}`,
        name: req.params.profile,
        latest: (await req.catalog.version(req.params.catalog, req.params.profile, 'latest')).version,
        versions,
      };
    },
  );

  app.get<{ Params: { catalog: string; profile: string; version: string } }>(
    '/v1/catalogs/:catalog/profiles/:profile/versions/:version',
    {
      schema: {
        summary: 'One version: artifacts, dependsOn, nested profile tree, freshness',
        tags: ['catalog'],
        params,
      },
      preValidation: onlyKnownParams([]),
    },
    async (req): Promise<ProfileVersionDoc> => {
      const entry = await req.catalog.version(req.params.catalog, req.params.profile, req.params.version);
      const tree = await nestedTree(req.catalog, entry, new Set([`${entry.url}@${entry.tag}`]), 0);
      return {
        item: entry,
        artifacts: entry.artifacts ?? [],
        dependsOn: Object.fromEntries((entry.artifacts ?? []).map((a) => [a.name, a.dependsOn])),
        tree,
        freshness: { revision: entry.revision ?? null, indexedAt: entry.indexedAt },
      };
    },
  );
}

/** Resolves nested profile references through the catalog (by repository URL and tag), to any depth. */
async function nestedTree(
  reader: CatalogReader,
  entry: CatalogEntry,
  path: Set<string>,
  depth: number,
): Promise<NestedProfileNode[]> {
  const out: NestedProfileNode[] = [];
  for (const a of entry.artifacts ?? []) {
    if (a.kind !== 'profile' || !a.profile) continue;
    const src = a.profile.source;
    const node: NestedProfileNode = { artifact: a.name, source: src, resolved: null, children: [] };
    out.push(node);
    const key = `${src.url}@${src.tag ?? src.branch ?? ''}`;
    if (path.has(key)) {
      node.note = 'cycle';
      continue;
    }
    if (depth >= 10) {
      node.note = 'depth-limit';
      continue;
    }
    const found = src.tag ? await reader.findByRepoTag(src.url, src.tag) : undefined;
    if (!found || 'hidden' in found) {
      // In a catalog the caller may not see: it shows as such, never with its content.
      node.note = found ? 'not-visible' : 'outside-catalog';
      continue;
    }
    const target = found.entry;
    node.resolved = {
      catalog: `${target.catalogNamespace}/${target.catalogSource}`,
      profile: target.name,
      version: target.version,
    };
    node.children = await nestedTree(reader, target, new Set([...path, key]), depth + 1);
  }
  return out;
}

/** The versions newer than a given one, classified by semver (major, minor, patch). */
function updateRoutes(app: FastifyInstance): void {
  app.get<{
    Params: { catalog: string; profile: string };
    Querystring: { from: string; constraint?: string };
  }>(
    '/v1/catalogs/:catalog/profiles/:profile/updates',
    {
      schema: {
        summary:
          'Newer versions than `from`, optionally within a semver constraint, each classified patch/minor/major',
        tags: ['catalog'],
        params,
        querystring: {
          type: 'object',
          required: ['from'],
          properties: {
            from: { type: 'string', maxLength: 256 },
            constraint: { type: 'string', maxLength: 200 },
          },
        },
      },
      preValidation: onlyKnownParams(['from', 'constraint']),
    },
    async (req): Promise<ProfileUpdatesDoc> => {
      const from = parseVersionParam(req.query.from);
      if (req.query.constraint !== undefined && semver.validRange(req.query.constraint) === null) {
        throw new AppError(
          'BAD_REQUEST',
          `constraint ${JSON.stringify(req.query.constraint)} is not a semver range`,
          { details: { parameter: 'constraint' } },
        );
      }
      const current = await req.catalog.version(req.params.catalog, req.params.profile, from);
      const newer = (await req.catalog.versions(req.params.catalog, req.params.profile)).filter(
        (e) =>
          isGreater(e.version, current.version) &&
          (req.query.constraint === undefined ||
            semver.satisfies(e.version, req.query.constraint, { includePrerelease: true })),
      );
      return {
        from: current.version,
        items: newer.map((e) => ({
          version: e.version,
          tag: e.tag,
          change: semver.diff(current.version, e.version) ?? 'none',
          item: e,
        })),
      };
    },
  );
}

/** Catalog sources with their status, all or one. */
function sourceRoutes(app: FastifyInstance): void {
  app.get(
    '/v1/sources',
    {
      schema: { summary: 'Catalog sources with status and counts', tags: ['sources'] },
      preValidation: onlyKnownParams([]),
    },
    async (
      req,
    ): Promise<{
      items: SourceView[];
      fileErrors: Awaited<ReturnType<CatalogReader['fileErrors']>>;
    }> => {
      const ids = await req.catalog.sourceIds();
      const [items, fileErrors] = await Promise.all([
        Promise.all(ids.map((id) => sourceView(req.catalog, id))),
        req.catalog.fileErrors(),
      ]);
      return { items, fileErrors };
    },
  );

  app.get<{ Params: { namespace: string; name: string } }>(
    '/v1/sources/:namespace/:name',
    { schema: { summary: 'One catalog source', tags: ['sources'] }, preValidation: onlyKnownParams([]) },
    async (req): Promise<{ item: SourceView }> => {
      const id = `${req.params.namespace}/${req.params.name}`;
      if (!(await req.catalog.hasSource(id)))
        throw new AppError('CATALOG_NOT_FOUND', `catalog source ${JSON.stringify(id)} not found`, {
          details: { catalog: id },
        });
      return { item: await sourceView(req.catalog, id) };
    },
  );
}

/** A source as the API shows it: its identity, origin and the status the indexer wrote. */
async function sourceView(reader: CatalogReader, id: string): Promise<SourceView> {
  const { origin, status, indexedAt } = await reader.source(id);
  const ref = parseSourceId(id)!;
  return {
    namespace: ref.namespace,
    name: ref.name,
    origin,
    ready: status.ready ?? false,
    reason: status.reason ?? '',
    message: status.message ?? '',
    profiles: status.profiles ?? 0,
    versions: status.versions ?? 0,
    entryErrors: status.entryErrors ?? [],
    lastError: status.ready === false ? status.message : null,
    scannedRepositories: status.scannedRepositories ?? [],
    observedGeneration: status.observedGeneration ?? null,
    indexedAt,
  };
}
