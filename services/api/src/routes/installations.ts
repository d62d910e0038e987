import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import {
  AppError,
  INSTALLER_SUBJECTS,
  SUBJECTS,
  describeError,
  type InstallationDoc,
  type InstallationKeys,
  type InstallRequest,
  type JetStreamHandles,
  type Logger,
  type ProfileSource,
  type Redis,
  type RepositoryScan,
} from '@profiles/shared';
import type { CatalogReader } from '../catalog-reader.ts';

const secretRef = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 253 },
    namespace: { type: 'string', maxLength: 63 },
  },
} as const;
const gitUrl = {
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
const refName = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[^\\s~^:?*\\[\\\\]+$' } as const;

const valuesSchema = {
  type: 'object',
  maxProperties: 200,
  // Values per artifact must be YAML maps (JSON objects): anything else is rejected here with a clear error.
  additionalProperties: { type: 'object' },
} as const;

const installBody = {
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
    mode: { enum: ['commit', 'pull-request'], default: 'commit' },
    dryRun: { type: 'boolean', default: false },
  },
} as const;

interface InstallBody {
  name: string;
  namespace: string;
  profile:
    | {
        url: string;
        tag?: string;
        branch?: string;
        path?: string;
        secretRef?: { name: string; namespace?: string };
      }
    | { catalog: string; name: string; version: string };
  target: InstallRequest['target'];
  values?: InstallRequest['values'];
  mode: InstallRequest['mode'];
  dryRun: boolean;
}

export interface InstallationsDeps {
  redis: Redis;
  keys: InstallationKeys;
  reader: CatalogReader;
  nats: JetStreamHandles | undefined;
  log: Logger;
}

const IDEMPOTENCY_TTL_S = 7 * 24 * 3600;

/**
 * Install requests. A request is stored in Redis (and listed as unpublished) before it is published to
 * JetStream with the installation id as message id; a publish that fails is retried by the outbox loop, so a
 * 202 never loses a request. The installer does the work (dry runs too: it has the git checkouts).
 */
export function installationsRoutes(app: FastifyInstance, d: InstallationsDeps): void {
  const publish = async (id: string) => {
    if (!d.nats) throw new AppError('UNAVAILABLE', 'the install queue is not configured');
    await d.nats.js.publish(SUBJECTS.installRequest, JSON.stringify({ id }), { msgID: id, timeout: 2_000 });
    await d.redis.zrem(d.keys.unpublished(), id);
  };

  const readDoc = async (id: string): Promise<InstallationDoc> => {
    const raw = await d.redis.get(d.keys.doc(id));
    if (!raw)
      throw new AppError('INSTALLATION_NOT_FOUND', `installation ${JSON.stringify(id)} not found`, {
        details: { id },
      });
    return JSON.parse(raw) as InstallationDoc;
  };

  const submit = async (req: InstallRequest, idemKey: string | undefined) => {
    if (!d.nats) throw new AppError('UNAVAILABLE', 'the install queue is not configured');
    if (idemKey) {
      const ok = await d.redis.set(d.keys.idempotency(idemKey), req.id, 'EX', IDEMPOTENCY_TTL_S, 'NX');
      if (ok !== 'OK') {
        const existing = await d.redis.get(d.keys.idempotency(idemKey));
        if (existing) {
          const doc = await d.redis.get(d.keys.doc(existing));
          return { id: existing, status: doc ? (JSON.parse(doc) as InstallationDoc).status : 'queued' };
        }
      }
    }
    const now = new Date().toISOString();
    const doc: InstallationDoc = { id: req.id, status: 'queued', createdAt: now, updatedAt: now };
    const replies = await d.redis
      .multi()
      .set(d.keys.request(req.id), JSON.stringify(req))
      .set(d.keys.doc(req.id), JSON.stringify(doc))
      .zadd(d.keys.unpublished(), Date.now(), req.id)
      .exec();
    const failed = replies?.find(([e]) => e);
    if (!replies || failed) throw failed?.[0] ?? new Error('redis transaction aborted');
    try {
      await publish(req.id);
    } catch (err) {
      d.log.warn(
        { id: req.id, err: describeError(err) },
        'publishing an install request failed; the outbox retries',
      );
    }
    return { id: req.id, status: 'queued' as const };
  };

  const resolveProfile = async (p: InstallBody['profile']): Promise<ProfileSource> => {
    if ('catalog' in p) {
      const e = await d.reader.version(p.catalog, p.name, p.version);
      return { url: e.url, tag: e.tag, catalog: { catalog: p.catalog, name: p.name, version: e.version } };
    }
    if (!p.tag && !p.branch) throw new AppError('BAD_REQUEST', 'profile needs a tag or a branch');
    return { ...p };
  };

  app.post<{ Body: InstallBody; Headers: { 'idempotency-key'?: string } }>(
    '/v1/installations',
    {
      schema: {
        body: installBody,
        headers: {
          type: 'object',
          properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 255 } },
        },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const profile = await resolveProfile(b.profile);
      const request: InstallRequest = {
        id: randomUUID(),
        kind: 'install',
        name: b.name,
        namespace: b.namespace,
        profile,
        target: { ...b.target, branch: b.target.branch || 'main', path: b.target.path ?? '.' },
        values: b.values ?? {},
        mode: b.mode,
        dryRun: b.dryRun,
        createdAt: new Date().toISOString(),
      };
      if (request.mode === 'pull-request' && !request.target.pullRequest) {
        throw new AppError(
          'BAD_REQUEST',
          'mode pull-request needs target.pullRequest (provider, apiUrl, repository)',
        );
      }
      const out = await submit(request, req.headers['idempotency-key']);
      return reply.status(202).header('location', `/v1/installations/${out.id}`).send(out);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/installations/:id',
    { schema: { params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } } } },
    async (req) => readDoc(req.params.id),
  );

  app.post<{
    Params: { id: string };
    Body: {
      version?: string;
      dryRun?: boolean;
      mode?: InstallRequest['mode'];
      values?: InstallRequest['values'];
    };
    Headers: { 'idempotency-key'?: string };
  }>(
    '/v1/installations/:id/upgrade',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            version: { type: 'string', minLength: 1, maxLength: 256, default: 'latest' },
            dryRun: { type: 'boolean', default: false },
            mode: { enum: ['commit', 'pull-request'] },
            values: valuesSchema,
          },
        },
      },
    },
    async (req, reply) => {
      const doc = await readDoc(req.params.id);
      const raw = await d.redis.get(d.keys.request(req.params.id));
      if (!raw) throw new AppError('INSTALLATION_NOT_FOUND', `installation ${req.params.id} not found`);
      const orig = JSON.parse(raw) as InstallRequest;
      if (!['committed', 'pr-opened'].includes(doc.status) || orig.dryRun) {
        throw new AppError(
          'BAD_REQUEST',
          `installation ${req.params.id} is ${orig.dryRun ? 'a dry run' : doc.status}: nothing to upgrade`,
        );
      }
      // What is in the repository now was rendered from the resolved source of that request.
      const from: ProfileSource = {
        ...orig.profile,
        ...(doc.profile?.ref && orig.profile.tag ? { tag: doc.profile.ref } : {}),
      };
      const version = req.body?.version ?? 'latest';
      let profile: ProfileSource = from;
      if (from.catalog) {
        const e = await d.reader.version(from.catalog.catalog, from.catalog.name, version);
        profile = { url: e.url, tag: e.tag, catalog: { ...from.catalog, version: e.version } };
      }
      const request: InstallRequest = {
        ...orig,
        id: randomUUID(),
        kind: 'upgrade',
        profile,
        values: req.body?.values ?? orig.values,
        mode: req.body?.mode ?? orig.mode,
        dryRun: req.body?.dryRun ?? false,
        upgrade: { of: req.params.id, version, from },
        createdAt: new Date().toISOString(),
      };
      const out = await submit(request, req.headers['idempotency-key']);
      return reply.status(202).header('location', `/v1/installations/${out.id}`).send(out);
    },
  );
}

/**
 * Upgrade by repository path: for installations this service did not make (or whose request expired), the
 * installer reads the source, values and namespace from `<path>/profile-installation.yaml`.
 */
export function upgradeByPathRoute(app: FastifyInstance, d: InstallationsDeps): void {
  app.post<{
    Body: {
      url: string;
      branch?: string;
      path: string;
      version?: string;
      mode?: InstallRequest['mode'];
      dryRun?: boolean;
      secretRef?: { name: string; namespace?: string };
      profileSecretRef?: { name: string; namespace?: string };
      fluxSource?: { name: string; namespace: string };
      pullRequest?: InstallRequest['target']['pullRequest'];
    };
  }>(
    '/v1/repositories/installations/upgrade',
    {
      schema: {
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
            secretRef,
            profileSecretRef: secretRef,
            fluxSource: installBody.properties.target.properties.fluxSource,
            pullRequest: installBody.properties.target.properties.pullRequest,
          },
        },
      },
    },
    async (req, reply) => {
      if (!d.nats) throw new AppError('UNAVAILABLE', 'the install queue is not configured');
      const b = req.body;
      const version = b.version ?? 'latest';
      const request: InstallRequest = {
        id: randomUUID(),
        kind: 'upgrade',
        name: '',
        namespace: '',
        profile: { url: '', ...(b.profileSecretRef ? { secretRef: b.profileSecretRef } : {}) },
        target: {
          url: b.url,
          branch: b.branch ?? 'main',
          path: b.path,
          ...(b.secretRef ? { secretRef: b.secretRef } : {}),
          ...(b.fluxSource ? { fluxSource: b.fluxSource } : {}),
          ...(b.pullRequest ? { pullRequest: b.pullRequest } : {}),
        },
        values: {},
        mode: b.mode ?? 'commit',
        dryRun: b.dryRun ?? false,
        upgrade: { of: '', version, path: b.path },
        createdAt: new Date().toISOString(),
      };
      const now = request.createdAt;
      const doc: InstallationDoc = { id: request.id, status: 'queued', createdAt: now, updatedAt: now };
      await d.redis
        .multi()
        .set(d.keys.request(request.id), JSON.stringify(request))
        .set(d.keys.doc(request.id), JSON.stringify(doc))
        .zadd(d.keys.unpublished(), Date.now(), request.id)
        .exec();
      try {
        await d.nats.js.publish(SUBJECTS.installRequest, JSON.stringify({ id: request.id }), {
          msgID: request.id,
          timeout: 2_000,
        });
        await d.redis.zrem(d.keys.unpublished(), request.id);
      } catch (err) {
        d.log.warn(
          { id: request.id, err: describeError(err) },
          'publishing an upgrade failed; the outbox retries',
        );
      }
      return reply
        .status(202)
        .header('location', `/v1/installations/${request.id}`)
        .send({ id: request.id, status: 'queued' });
    },
  );
}

/**
 * The installations found in a GitOps repository with their available updates. The installer answers (it
 * has the git checkouts) over NATS request/reply; the API only relays.
 */
export function repositoryScanRoute(app: FastifyInstance, d: InstallationsDeps): void {
  app.get<{
    Querystring: { url: string; branch?: string; path?: string; secret?: string; secretNamespace?: string };
  }>(
    '/v1/repositories/installations',
    {
      schema: {
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
      },
    },
    async (req) => {
      if (!d.nats) throw new AppError('UNAVAILABLE', 'the installer is not reachable');
      const q = req.query;
      const target = {
        url: q.url,
        branch: q.branch ?? 'main',
        path: q.path ?? '.',
        ...(q.secret
          ? { secretRef: { name: q.secret, ...(q.secretNamespace ? { namespace: q.secretNamespace } : {}) } }
          : {}),
      };
      let reply: RepositoryScan;
      try {
        const m = await d.nats.nc.request(INSTALLER_SUBJECTS.scan, JSON.stringify(target), {
          timeout: 60_000,
        });
        reply = JSON.parse(new TextDecoder().decode(m.data)) as RepositoryScan;
      } catch (err) {
        throw new AppError('UNAVAILABLE', `no installer answered: ${describeError(err)}`);
      }
      if ('error' in reply) {
        const code = reply.error.code === 'GIT_FAILED' ? 'GIT_FAILED' : 'BAD_REQUEST';
        throw new AppError(code, reply.error.message);
      }
      return reply;
    },
  );
}

/**
 * Republishes requests whose publish failed (or whose API replica died in between). JetStream drops a second
 * copy within its duplicate window; the installer skips ids already finished.
 */
export function startInstallOutbox(d: InstallationsDeps, periodMs = 2_000): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy || !d.nats) return;
    busy = true;
    void (async () => {
      const ids = await d.redis.zrangebyscore(
        d.keys.unpublished(),
        '-inf',
        Date.now() - periodMs,
        'LIMIT',
        0,
        100,
      );
      for (const id of ids) {
        await d.nats!.js.publish(SUBJECTS.installRequest, JSON.stringify({ id }), { msgID: id });
        await d.redis.zrem(d.keys.unpublished(), id);
      }
    })()
      .catch((err) =>
        d.log.warn({ err: describeError(err) }, 'install outbox: publish failed, retrying later'),
      )
      .finally(() => {
        busy = false;
      });
  }, periodMs);
  timer.unref();
  return () => clearInterval(timer);
}
