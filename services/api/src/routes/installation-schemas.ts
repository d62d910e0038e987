import { INSTALL_LAYOUTS, INSTALL_STATUSES, INSTALL_STATUS_MEANINGS } from '@profiles/shared';

/**
 * JSON schemas of the install endpoints' bodies (Fastify validates them before a handler runs; bodies through
 * `strictBody`, without type coercion). Values' depth and target paths are checked by the handlers with
 * `checkValues` and `checkTargetPath` (shared), which the installer runs on what it reads back too.
 */
export const secretRef = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 253 },
    namespace: { type: 'string', maxLength: 63 },
  },
} as const;
export const gitUrl = {
  type: 'string',
  minLength: 1,
  maxLength: 2048,
  pattern: '^(https?|ssh|file|git)://|^[^@\\s]+@[^:\\s]+:',
} as const;
const k8sName = {
  type: 'string',
  minLength: 1,
  maxLength: 53,
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
} as const;
export const refName = {
  type: 'string',
  minLength: 1,
  maxLength: 255,
  pattern: '^[^\\s~^:?*\\[\\\\]+$',
} as const;

export const valuesSchema = {
  type: 'object',
  maxProperties: 200,
  // Values per artifact must be YAML maps (JSON objects): anything else is rejected here with a clear error.
  additionalProperties: { type: 'object' },
} as const;

const patchesSchema = {
  type: 'object',
  maxProperties: 200,
  additionalProperties: {
    type: 'array',
    maxItems: 100,
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['patch'],
      properties: {
        patch: { type: 'string', minLength: 1, maxLength: 65536 },
        target: {
          type: 'object',
          additionalProperties: false,
          properties: Object.fromEntries(
            ['group', 'version', 'kind', 'name', 'namespace', 'labelSelector', 'annotationSelector'].map(
              (k) => [k, { type: 'string', maxLength: 1024 }],
            ),
          ),
        },
      },
    },
  },
} as const;

const valuesFromSchema = {
  type: 'object',
  maxProperties: 200,
  additionalProperties: {
    type: 'array',
    maxItems: 50,
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'name'],
      properties: {
        kind: { enum: ['ConfigMap', 'Secret'] },
        name: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' },
        valuesKey: { type: 'string', maxLength: 253, pattern: '^[-._a-zA-Z0-9]+$' },
        targetPath: { type: 'string', maxLength: 250 },
        optional: { type: 'boolean' },
      },
    },
  },
} as const;

/** How an upgrade resolves conflicts (ConflictResolution in shared). */
export const conflictsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    mode: { enum: ['fail', 'ours', 'theirs', 'markers'] },
    files: {
      type: 'object',
      maxProperties: 1000,
      additionalProperties: { enum: ['ours', 'theirs'] },
    },
  },
} as const;

/** Names and paths of the rendering (InstallLayout in shared: `pctl` renders the original CLI's). */
const layoutSchema = {
  enum: [...INSTALL_LAYOUTS],
  description:
    "profiles (default): names carry the artifact chain; pctl: pctl's names and paths (<install>-<artifact>, -defaultvalues, helm-chart/<chart>, releaseName). Recorded; upgrades keep it.",
} as const;

/** Per-artifact patches and valuesFrom: an install takes them, an upgrade may replace them. */
const artifactOptions = { patches: patchesSchema, valuesFrom: valuesFromSchema } as const;

export const installBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'namespace', 'profile', 'target'],
  properties: {
    name: k8sName,
    namespace: { ...k8sName, maxLength: 63 },
    profile: {
      oneOf: [
        {
          type: 'object',
          additionalProperties: false,
          required: ['url'],
          properties: {
            url: gitUrl,
            tag: refName,
            branch: refName,
            path: { type: 'string', maxLength: 1024 },
            secretRef,
          },
          not: { required: ['tag', 'branch'] },
        },
        {
          type: 'object',
          additionalProperties: false,
          required: ['catalog', 'name', 'version'],
          properties: {
            catalog: { type: 'string', minLength: 1, maxLength: 317 },
            name: { type: 'string', minLength: 1, maxLength: 200 },
            version: { type: 'string', minLength: 1, maxLength: 256 },
          },
        },
      ],
    },
    target: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: {
        url: gitUrl,
        branch: { ...refName, default: 'main' },
        path: { type: 'string', maxLength: 1024, default: '.' },
        secretRef,
        fluxSource: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'namespace'],
          properties: { name: k8sName, namespace: k8sName },
        },
        pullRequest: {
          type: 'object',
          additionalProperties: false,
          required: ['provider', 'apiUrl', 'repository'],
          properties: {
            provider: { enum: ['github', 'gitlab', 'gitea'] },
            apiUrl: { type: 'string', pattern: '^https?://', maxLength: 2048 },
            repository: { type: 'string', minLength: 1, maxLength: 512 },
            secretRef,
          },
        },
      },
    },
    values: valuesSchema,
    ...artifactOptions,
    mode: { enum: ['commit', 'pull-request'], default: 'commit' },
    dryRun: { type: 'boolean', default: false },
    layout: layoutSchema,
  },
} as const;

const idParams = { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } } as const;

export const idempotencyHeaders = {
  type: 'object',
  properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 255 } },
} as const;

export const upgradeSchema = {
  params: idParams,
  headers: idempotencyHeaders,
  body: {
    type: 'object',
    additionalProperties: false,
    properties: {
      version: { type: 'string', minLength: 1, maxLength: 256, default: 'latest' },
      dryRun: { type: 'boolean', default: false },
      mode: { enum: ['commit', 'pull-request'] },
      values: valuesSchema,
      ...artifactOptions,
      conflicts: conflictsSchema,
    },
  },
} as const;

export const upgradeByPathSchema = {
  headers: idempotencyHeaders,
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['url', 'path'],
    properties: {
      url: gitUrl,
      branch: refName,
      path: { type: 'string', minLength: 1, maxLength: 1024 },
      version: { type: 'string', minLength: 1, maxLength: 256 },
      mode: { enum: ['commit', 'pull-request'] },
      dryRun: { type: 'boolean' },
      values: valuesSchema,
      ...artifactOptions,
      conflicts: conflictsSchema,
      adopt: { type: 'boolean' },
      layout: { ...layoutSchema, description: 'with adopt: the layout to rewrite the folder in' },
      secretRef,
      profileSecretRef: secretRef,
      fluxSource: installBody.properties.target.properties.fluxSource,
      pullRequest: installBody.properties.target.properties.pullRequest,
    },
  },
} as const;

export const repositoryScanSchema = {
  querystring: {
    type: 'object',
    required: ['url'],
    properties: {
      url: gitUrl,
      branch: refName,
      path: { type: 'string', maxLength: 1024 },
      secret: { type: 'string', maxLength: 253 },
      secretNamespace: { type: 'string', maxLength: 63 },
    },
  },
} as const;

export const installationSchema = {
  description: `The status document. status: ${INSTALL_STATUSES.map((s) => `${s} (${INSTALL_STATUS_MEANINGS[s]})`).join('; ')}.`,
  params: idParams,
} as const;
