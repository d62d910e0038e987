/**
 * The answers of the API as OpenAPI schemas (`components.schemas` of /openapi.json). They document; they are
 * not serializers (Fastify would drop every field a response schema does not name), so each lists the fields
 * every answer has as `required` and lets the rest through.
 */
import { INSTALL_STATUSES } from '@profiles/shared';

const str = { type: 'string' } as const;
const strings = { type: 'array', items: str } as const;
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const obj = (properties: Record<string, unknown>, required: string[] = Object.keys(properties)) => ({
  type: 'object',
  properties,
  required,
});
const nullable = (s: Record<string, unknown>) => ({ ...s, nullable: true });

const Artifact = obj(
  {
    name: str,
    kind: { type: 'string', enum: ['chart', 'kustomize', 'profile'] },
    dependsOn: strings,
    chart: obj({ url: str, name: str, version: str, path: str, defaultValues: str }, []),
    kustomize: obj({ path: str }),
    profile: obj({ source: obj({ url: str, tag: str, branch: str, path: str }, ['url']) }),
  },
  ['name', 'kind', 'dependsOn'],
);

const Entry = obj(
  {
    tag: str,
    catalogSource: str,
    url: str,
    name: str,
    description: str,
    maintainer: str,
    prerequisites: strings,
    version: str,
    catalogNamespace: str,
    origin: { type: 'string', description: '`inline`, or the URL of the scanned repository' },
    indexedAt: { type: 'string', format: 'date-time' },
    revision: { type: 'string', description: 'the commit the version was read from (scanned repositories)' },
    artifacts: { type: 'array', items: ref('Artifact') },
  },
  [
    'tag',
    'catalogSource',
    'url',
    'name',
    'description',
    'maintainer',
    'prerequisites',
    'version',
    'catalogNamespace',
    'origin',
    'indexedAt',
  ],
);

const Problem = obj(
  {
    type: str,
    title: str,
    status: { type: 'integer' },
    detail: str,
    instance: str,
    code: { type: 'string', description: 'the error catalogue code, e.g. BAD_REQUEST, PROFILE_NOT_FOUND' },
    parameter: { type: 'string', description: 'the offending parameter, when there is one' },
  },
  ['type', 'title', 'status', 'detail', 'code'],
);
// An error's details travel as extra members (`in`, `candidates`, `catalog`, …), as RFC 9457 allows.
(Problem as Record<string, unknown>).additionalProperties = true;

const LegacyError = obj(
  { code: str, message: str, details: { type: 'object', additionalProperties: true } },
  ['code', 'message'],
);

const TreeNode = obj(
  {
    artifact: str,
    source: obj({ url: str, tag: str, branch: str, path: str }, ['url']),
    resolved: nullable(obj({ catalog: str, profile: str, version: str })),
    note: { type: 'string', enum: ['outside-catalog', 'not-visible', 'cycle', 'depth-limit'] },
    children: { type: 'array', items: ref('TreeNode') },
  },
  ['artifact', 'source', 'resolved', 'children'],
);

const Source = obj(
  {
    namespace: str,
    name: str,
    origin: str,
    ready: { type: 'boolean' },
    reason: str,
    message: str,
    profiles: { type: 'integer' },
    versions: { type: 'integer' },
    entryErrors: { type: 'array', items: obj({ entry: str, reason: str }) },
    lastError: nullable(str),
    scannedRepositories: {
      type: 'array',
      items: obj(
        {
          url: str,
          tags: strings,
          tagErrors: { type: 'array', items: obj({ tag: str, reason: str }) },
          error: str,
          skippedTags: { type: 'integer' },
        },
        ['url'],
      ),
    },
    observedGeneration: nullable({ type: 'integer' }),
    indexedAt: nullable(str),
  },
  [
    'namespace',
    'name',
    'origin',
    'ready',
    'reason',
    'message',
    'profiles',
    'versions',
    'entryErrors',
    'lastError',
    'scannedRepositories',
    'observedGeneration',
    'indexedAt',
  ],
);

const counts = { type: 'object', additionalProperties: { type: 'integer' } };
const SearchPage = obj({
  total: { type: 'integer' },
  items: {
    type: 'array',
    items: obj(
      {
        catalog: str,
        name: str,
        score: { type: 'number' },
        latest: ref('Entry'),
        versions: { type: 'array', items: ref('Entry') },
      },
      ['catalog', 'name', 'score', 'latest'],
    ),
  },
  facets: { type: 'object', additionalProperties: counts },
  facetTotals: counts,
  nextCursor: nullable(str),
});

const finding = obj(
  {
    file: str,
    object: str,
    message: str,
    artifact: str,
    path: str,
    severity: { type: 'string', enum: ['error', 'warning'] },
  },
  ['file', 'object', 'message'],
);
const hunks = {
  type: 'array',
  description:
    'each conflicting file with its diff3-style regions (repository, installed, upgrade) in context',
  items: obj({ file: str, hunks: strings }, ['file', 'hunks']),
};
const status = { type: 'string', enum: [...INSTALL_STATUSES] };
const Installation = obj(
  {
    id: str,
    status,
    reason: str,
    code: str,
    commit: str,
    pullRequest: obj({ url: str, number: { oneOf: [{ type: 'integer' }, str] }, branch: str }),
    files: strings,
    removed: strings,
    conflicts: strings,
    conflictHunks: hunks,
    findings: { type: 'array', items: finding },
    notes: { type: 'array', items: finding, description: 'what could not be checked (warnings)' },
    profile: obj({ name: str, version: str, url: str, ref: str }),
    dryRun: obj(
      {
        tree: { type: 'object', additionalProperties: true },
        diff: str,
        findings: { type: 'array', items: finding },
        notes: { type: 'array', items: finding },
        applies: { type: 'boolean' },
      },
      ['tree', 'diff', 'findings', 'applies'],
    ),
    attempts: { type: 'integer' },
    startedAt: { type: 'string', description: 'when the installer began its last attempt (left the queue)' },
    renderedAt: {
      type: 'string',
      description: 'when the rendering was ready to commit (then the commit into the repository followed)',
    },
    requestedBy: { type: 'string', description: 'who asked (the authenticated user)' },
    createdAt: str,
    updatedAt: str,
  },
  ['id', 'status', 'createdAt', 'updatedAt'],
);

export const SCHEMAS = {
  Artifact,
  Entry,
  Problem,
  LegacyError,
  TreeNode,
  Source,
  SearchPage,
  Installation,
  EntryList: obj({ items: { type: 'array', items: ref('Entry') } }),
  EntryItem: obj({ item: ref('Entry') }),
  ProfileVersions: obj({
    catalog: str,
    name: str,
    latest: str,
    versions: { type: 'array', items: ref('Entry') },
  }),
  VersionDetail: obj({
    item: ref('Entry'),
    artifacts: { type: 'array', items: ref('Artifact') },
    dependsOn: { type: 'object', additionalProperties: strings },
    tree: { type: 'array', items: ref('TreeNode') },
    freshness: obj({ revision: nullable(str), indexedAt: str }),
  }),
  Updates: obj({
    from: str,
    items: {
      type: 'array',
      items: obj({
        version: str,
        tag: str,
        change: {
          type: 'string',
          description: 'patch, minor, major, or prepatch/preminor/premajor/prerelease',
        },
        item: ref('Entry'),
      }),
    },
  }),
  SourceList: obj({
    items: { type: 'array', items: ref('Source') },
    fileErrors: {
      type: 'array',
      description:
        'files of a watched folder that yield no source, with the reason (parse errors, sizes, duplicates)',
      items: obj({ origin: str, file: str, message: str }),
    },
  }),
  SourceItem: obj({ item: ref('Source') }),
  Refreshing: obj({ refreshing: strings }),
  WebhookAccepted: obj({
    provider: { type: 'string', enum: ['github', 'gitlab', 'gitea'] },
    refreshing: strings,
  }),
  Accepted: obj({ id: str, status }),
  RepositoryInstallations: obj({
    items: {
      type: 'array',
      items: obj({
        name: str,
        namespace: str,
        path: str,
        installationId: str,
        profile: obj({ url: str, ref: str, path: str, version: str }),
        availableUpdates: strings,
      }),
    },
  }),
};
