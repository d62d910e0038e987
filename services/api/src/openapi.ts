import { SCHEMAS } from './openapi-schemas.ts';

/**
 * Completes the OpenAPI document @fastify/swagger builds from the routes' validation schemas into one a client
 * generator accepts (`npx @redocly/cli lint` passes; `test/openapi.test.ts` generates a client with
 * openapi-typescript and type-checks real answers with it): every operation gets an operationId, a summary,
 * tags, an answer for every status it gives (202 for queued work; problem+json errors, the original endpoints'
 * `{code, message}`), and examples; path parameters a path does not have are dropped.
 */
type Json = Record<string, any>;

interface OperationDoc {
  operationId: string;
  summary?: string;
  tag: string;
  /** The success status, its schema (a components name) and, for non-JSON answers, its media type. */
  ok: { status: number; schema?: string; description: string; mediaType?: string; example?: unknown };
  errors: number[];
  requestExample?: unknown;
}

const GET_ERRORS = [400, 404, 429, 503];
const entryExample = {
  tag: 'hello-web/v0.2.0',
  catalogSource: 'examples',
  url: 'https://git.example.com/platform/profiles.git',
  name: 'hello-web',
  description: 'A small web server from a Helm chart kept in the profile repository.',
  maintainer: 'platform-team',
  prerequisites: ['Kubernetes 1.26+'],
  version: '0.2.0',
  catalogNamespace: 'default',
  origin: 'https://git.example.com/platform/profiles.git',
  indexedAt: '2026-12-01T10:00:00.000Z',
};
const accepted = { id: '6f1c2a9e-3b7d-4c1e-9a52-0d8e4b7f1a23', status: 'queued' };

const OPERATIONS: Record<string, OperationDoc> = {
  'get /v1/profiles': {
    operationId: 'listProfiles',
    summary: 'Every version of every profile whose name contains `name`',
    tag: 'original',
    ok: {
      status: 200,
      schema: 'EntryList',
      description: 'matching versions',
      example: { items: [entryExample] },
    },
    errors: [400, 429, 503],
  },
  'get /v1/profiles/{catalog}/{profile}': {
    operationId: 'getLatestProfile',
    summary: 'The latest version of a profile',
    tag: 'original',
    ok: {
      status: 200,
      schema: 'EntryItem',
      description: 'the latest version',
      example: { item: entryExample },
    },
    errors: [...GET_ERRORS, 409],
  },
  'get /v1/profiles/{catalog}/{profile}/{version}': {
    operationId: 'getProfileVersion',
    summary: 'One version of a profile (`1.2.3`, `v1.2.3` or `latest`)',
    tag: 'original',
    ok: { status: 200, schema: 'EntryItem', description: 'the version', example: { item: entryExample } },
    errors: [...GET_ERRORS, 409],
  },
  'get /v1/profiles/{catalog}/{profile}/{version}/available_updates': {
    operationId: 'listAvailableUpdates',
    summary: 'Strictly newer versions, newest first',
    tag: 'original',
    ok: { status: 200, schema: 'EntryList', description: 'newer versions' },
    errors: [...GET_ERRORS, 409],
  },
  'get /v1/search': {
    operationId: 'searchProfiles',
    tag: 'catalog',
    ok: { status: 200, schema: 'SearchPage', description: 'one page of hits with facet counts' },
    errors: [400, 429, 503],
  },
  'get /v1/catalogs/{catalog}/profiles/{profile}': {
    operationId: 'getCatalogProfile',
    tag: 'catalog',
    ok: { status: 200, schema: 'ProfileVersions', description: 'the profile with every version' },
    errors: [...GET_ERRORS, 409],
  },
  'get /v1/catalogs/{catalog}/profiles/{profile}/versions/{version}': {
    operationId: 'getCatalogProfileVersion',
    tag: 'catalog',
    ok: {
      status: 200,
      schema: 'VersionDetail',
      description: 'the version with its artifacts and nested tree',
    },
    errors: [...GET_ERRORS, 409],
  },
  'get /v1/catalogs/{catalog}/profiles/{profile}/updates': {
    operationId: 'listProfileUpdates',
    tag: 'catalog',
    ok: { status: 200, schema: 'Updates', description: 'newer versions, classified' },
    errors: [...GET_ERRORS, 409],
  },
  'get /v1/sources': {
    operationId: 'listSources',
    tag: 'sources',
    ok: { status: 200, schema: 'SourceList', description: 'every catalog source' },
    errors: [400, 429, 503],
  },
  'get /v1/sources/{namespace}/{name}': {
    operationId: 'getSource',
    tag: 'sources',
    ok: { status: 200, schema: 'SourceItem', description: 'the source with its status' },
    errors: GET_ERRORS,
  },
  'post /v1/sources/{namespace}/{name}/refresh': {
    operationId: 'refreshSource',
    summary: 'Rescan the repositories of a catalog source now',
    tag: 'sources',
    ok: {
      status: 202,
      schema: 'Refreshing',
      description: 'rescan queued',
      example: { refreshing: ['default/examples'] },
    },
    errors: [400, 404, 429, 503],
  },
  'get /v1/events': {
    operationId: 'streamCatalogEvents',
    tag: 'events',
    ok: {
      status: 200,
      description: 'Server-Sent Events; each `id` is the JetStream sequence, `data` a CloudEvent',
      mediaType: 'text/event-stream',
      example: 'id: 42\nevent: works.weave.profiles.version.added\ndata: {"specversion":"1.0"}\n\n',
    },
    errors: [400, 429, 503],
  },
  'post /v1/installations': {
    operationId: 'createInstallation',
    summary: 'Install a profile into a GitOps repository (queued; follow GET /v1/installations/{id})',
    tag: 'installations',
    ok: { status: 202, schema: 'Accepted', description: 'install request queued', example: accepted },
    errors: [400, 404, 409, 413, 429, 503],
    requestExample: {
      name: 'hello-web',
      namespace: 'default',
      profile: { catalog: 'examples', name: 'hello-web', version: '0.2.0' },
      target: { url: 'https://git.example.com/platform/gitops.git', branch: 'main', path: 'clusters/dev' },
      values: { web: { replicaCount: 3 } },
    },
  },
  'get /v1/installations/{id}': {
    operationId: 'getInstallation',
    summary: 'The status of an installation',
    tag: 'installations',
    ok: { status: 200, schema: 'Installation', description: 'the status document' },
    errors: [400, 404, 429, 503],
  },
  'post /v1/installations/{id}/upgrade': {
    operationId: 'upgradeInstallation',
    summary: 'Upgrade (or downgrade) an installation to another version (queued)',
    tag: 'installations',
    ok: { status: 202, schema: 'Accepted', description: 'upgrade request queued', example: accepted },
    errors: [400, 404, 409, 429, 503],
    requestExample: { version: 'latest' },
  },
  'get /v1/repositories/installations': {
    operationId: 'listRepositoryInstallations',
    summary: 'The installations in a GitOps repository, with their available updates',
    tag: 'installations',
    ok: { status: 200, schema: 'RepositoryInstallations', description: 'installations found below the path' },
    errors: [400, 429, 502, 503],
  },
  'post /v1/repositories/installations/upgrade': {
    operationId: 'upgradeRepositoryInstallation',
    summary: 'Upgrade the installation at a path of a GitOps repository (queued)',
    tag: 'installations',
    ok: { status: 202, schema: 'Accepted', description: 'upgrade request queued', example: accepted },
    errors: [400, 404, 429, 503],
    requestExample: {
      url: 'https://git.example.com/platform/gitops.git',
      branch: 'main',
      path: 'clusters/dev/hello-web',
      version: 'latest',
    },
  },
  'post /v1/webhooks/git': {
    operationId: 'receiveGitWebhook',
    summary:
      'Push and tag hooks of GitHub, GitLab and Gitea/Forgejo: rescan the sources listing the repository',
    tag: 'sources',
    ok: { status: 202, schema: 'WebhookAccepted', description: 'rescans queued' },
    errors: [400, 401, 413, 429, 503],
  },
};

const STATUS_TEXT: Record<number, string> = {
  304: 'not modified (If-None-Match matched the ETag)',
  400: 'bad request: a malformed or unknown parameter (named in `parameter`)',
  401: 'authentication required, or the bearer token was refused (webhooks: the signature or token does not match)',
  403: 'the write policy does not allow it; `permission` names what is missing',
  404: 'not found',
  409: 'conflict: an ambiguous catalog name, or the same Idempotency-Key with another body',
  413: 'the body is too large',
  429: 'rate limited',
  502: 'a git repository could not be read',
  503: 'a store or NATS is unavailable; retry',
};

function responses(path: string, method: string, doc: OperationDoc): Json {
  const original = path.startsWith('/v1/profiles');
  const out: Json = {};
  const ok: Json = { description: doc.ok.description };
  const media = doc.ok.mediaType ?? 'application/json';
  if (doc.ok.schema || doc.ok.mediaType) {
    ok.content = {
      [media]: {
        schema: doc.ok.schema ? { $ref: `#/components/schemas/${doc.ok.schema}` } : { type: 'string' },
        ...(doc.ok.example !== undefined ? { example: doc.ok.example } : {}),
      },
    };
  }
  out[String(doc.ok.status)] = ok;
  if (method === 'get' && !doc.ok.mediaType) out['304'] = { description: STATUS_TEXT[304] };
  // Every operation but the public ones asks for a bearer token; writes (and reading a repository with a
  // secret) are checked against the write policy.
  const statuses = new Set([...doc.errors, 401]);
  if (method === 'post' && path !== '/v1/webhooks/git') statuses.add(403);
  if (path === '/v1/repositories/installations') statuses.add(403);
  for (const status of [...[...statuses].sort(), 500]) {
    out[String(status)] = {
      description: STATUS_TEXT[status] ?? 'internal error',
      content: original
        ? { 'application/json': { schema: { $ref: '#/components/schemas/LegacyError' } } }
        : { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    };
  }
  return out;
}

/** The document @fastify/swagger made, completed (see above); the input is not changed. */
export function completeOpenApi(generated: Json): Json {
  const doc: Json = structuredClone(generated);
  doc.info = {
    ...doc.info,
    license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
  };
  doc.servers = [{ url: 'http://127.0.0.1:8080', description: '`npm start`' }];
  // A bearer token (static, OIDC JWT or Kubernetes; docs/security.md), or none where the API lets anonymous in.
  doc.security = [{ bearerAuth: [] }, {}];
  doc.tags = [
    { name: 'original', description: 'The endpoints of the original weaveworks/profiles API' },
    { name: 'catalog', description: 'Profiles, versions, updates and search' },
    { name: 'sources', description: 'Catalog sources, their status and rescans' },
    { name: 'events', description: 'Catalog change events' },
    { name: 'installations', description: 'Installs and upgrades into GitOps repositories' },
  ];
  doc.components = {
    ...doc.components,
    schemas: { ...doc.components?.schemas, ...SCHEMAS },
    securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } },
  };
  for (const [path, item] of Object.entries(doc.paths as Json)) {
    for (const [method, op] of Object.entries(item as Json)) {
      const d = OPERATIONS[`${method} ${path}`];
      // An assert at start-up: a route added without its description in OPERATIONS.
      if (!d)
        throw new Error(
          `no OpenAPI description of ${method.toUpperCase()} ${path} (services/api/src/openapi.ts)`,
        );
      op.operationId = d.operationId;
      op.summary = op.summary ?? d.summary;
      op.tags = [d.tag];
      // A shared params schema may name parameters this path does not have.
      op.parameters = (op.parameters ?? []).filter(
        (p: Json) => p.in !== 'path' || path.includes(`{${p.name}}`),
      );
      if (op.parameters.length === 0) delete op.parameters;
      op.responses = responses(path, method, d);
      if (path === '/v1/webhooks/git') op.security = []; // signed by the git host instead
      const body = op.requestBody?.content?.['application/json'];
      if (body && d.requestExample !== undefined) body.example = d.requestExample;
    }
  }
  return doc;
}
