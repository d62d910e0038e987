import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  AppError,
  encodeEvent,
  EVENT_TYPES,
  makeEvent,
  parseSourceId,
  SUBJECTS,
  type SourceRef,
} from '@profiles/shared';
import type { JetStreamClient } from '@profiles/shared/runtime';
import type { WritePolicy } from '../auth/policy.ts';
import type { CatalogReader } from '../catalog-reader.ts';

export interface RefreshDeps {
  /** Unscoped: a webhook is signed by the git host, not sent by a user. */
  reader: CatalogReader;
  policy: WritePolicy;
  js: JetStreamClient | undefined;
  webhookSecret: string | undefined;
}

async function publishRefresh(
  deps: RefreshDeps,
  ref: SourceRef,
  reason: 'webhook' | 'manual',
  url?: string,
): Promise<void> {
  if (!deps.js)
    throw new AppError('UNAVAILABLE', 'refreshes need NATS, which this API instance is not connected to');
  const ev = makeEvent(EVENT_TYPES.sourceRefresh, `api/${reason}`, { ref, reason, ...(url ? { url } : {}) });
  await deps.js.publish(SUBJECTS.sourceRefresh(ref), encodeEvent(ev), { msgID: ev.id });
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Which git host sent the hook, and whether it proves knowledge of the secret. */
export function verifyWebhook(
  headers: FastifyRequest['headers'],
  raw: Buffer,
  secret: string,
): { provider: string } {
  const hmac = createHmac('sha256', secret).update(raw).digest('hex');
  const h = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  if (h('x-github-event') !== undefined) {
    if (!safeEqual(h('x-hub-signature-256') ?? '', `sha256=${hmac}`))
      throw new AppError('UNAUTHORIZED', 'GitHub signature (X-Hub-Signature-256) does not match');
    return { provider: 'github' };
  }
  if (h('x-gitea-event') !== undefined || h('x-forgejo-event') !== undefined) {
    const sig = h('x-gitea-signature') ?? h('x-forgejo-signature') ?? '';
    if (!safeEqual(sig, hmac))
      throw new AppError('UNAUTHORIZED', 'Gitea/Forgejo signature (X-Gitea-Signature) does not match');
    return { provider: 'gitea' };
  }
  if (h('x-gitlab-event') !== undefined) {
    if (!safeEqual(h('x-gitlab-token') ?? '', secret))
      throw new AppError('UNAUTHORIZED', 'GitLab token (X-Gitlab-Token) does not match');
    return { provider: 'gitlab' };
  }
  throw new AppError('BAD_REQUEST', 'not a GitHub, GitLab or Gitea/Forgejo webhook (no event header)');
}

/** Every URL under which the payload names its repository. */
export function repositoryUrls(body: unknown): string[] {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<
    string,
    Record<string, unknown> | undefined
  >;
  const fields = [
    b.repository?.clone_url,
    b.repository?.ssh_url,
    b.repository?.git_url,
    b.repository?.html_url,
    b.repository?.git_http_url,
    b.repository?.git_ssh_url,
    b.project?.git_http_url,
    b.project?.git_ssh_url,
    b.project?.web_url,
  ];
  return [
    ...new Set(fields.filter((f): f is string => typeof f === 'string' && f.length > 0 && f.length < 2048)),
  ];
}

/**
 * Rescans on demand. `POST /v1/sources/{namespace}/{name}/refresh` asks for one source; `POST /v1/webhooks/git`
 * takes push/tag events of GitHub, GitLab and Gitea/Forgejo, verifies them (HMAC-SHA256 signature or token,
 * with WEBHOOK_SECRET) and refreshes every source that lists the pushed repository. Both only publish a refresh
 * event: the indexer does the work, so the API stays stateless and fast.
 */
export function refreshRoutes(app: FastifyInstance, deps: RefreshDeps): void {
  app.post<{ Params: { namespace: string; name: string } }>(
    '/v1/sources/:namespace/:name/refresh',
    {
      schema: {
        params: {
          type: 'object',
          properties: {
            namespace: { type: 'string', minLength: 1, maxLength: 63 },
            name: { type: 'string', minLength: 1, maxLength: 253 },
          },
          required: ['namespace', 'name'],
        },
      },
    },
    async (req, reply) => {
      const id = `${req.params.namespace}/${req.params.name}`;
      if (!(await req.catalog.hasSource(id))) {
        throw new AppError('CATALOG_NOT_FOUND', `catalog source ${JSON.stringify(id)} not found`, {
          details: { catalog: id },
        });
      }
      deps.policy.authorizeRefresh(req.identity, id);
      await publishRefresh(deps, parseSourceId(id)!, 'manual');
      return reply.status(202).send({ refreshing: [id] });
    },
  );

  // The signature covers the exact bytes sent, so this route keeps the raw body.
  app.register(async (scope) => {
    scope.addContentTypeParser(
      ['application/json', 'application/x-www-form-urlencoded'],
      { parseAs: 'buffer', bodyLimit: 5 * 1024 * 1024 },
      (_req, body, done) => done(null, body),
    );
    scope.post('/v1/webhooks/git', { config: { public: true } }, async (req, reply) => {
      if (!deps.webhookSecret)
        throw new AppError('UNAVAILABLE', 'webhooks are disabled: WEBHOOK_SECRET is not set');
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const { provider } = verifyWebhook(req.headers, raw, deps.webhookSecret);
      let payload: unknown;
      try {
        const text = raw.toString('utf8');
        // Gitea and GitHub can send form-encoded payloads: `payload=<json>`.
        payload = JSON.parse(
          text.startsWith('payload=') ? decodeURIComponent(text.slice(8).replace(/\+/g, ' ')) : text,
        );
      } catch {
        throw new AppError('BAD_REQUEST', 'webhook body is not JSON');
      }
      const urls = repositoryUrls(payload);
      const ids = new Set<string>();
      for (const url of urls) for (const id of await deps.reader.sourcesOfRepo(url)) ids.add(id);
      for (const id of ids) await publishRefresh(deps, parseSourceId(id)!, 'webhook', urls[0]);
      req.log.info(
        { provider, repositories: urls, sources: [...ids] },
        ids.size ? 'webhook: refreshing sources' : 'webhook for a repository no source lists; ignored',
      );
      return reply.status(202).send({ provider, refreshing: [...ids].sort() });
    });
  });
}
