import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  AppError,
  checkTargetPath,
  checkValues,
  parseLayout,
  type ArtifactPatches,
  type ArtifactValuesFrom,
  type ConflictResolution,
  type InstallRequest,
  type ProfileSource,
  type SecretRef,
} from '@profiles/shared';
import type { WritePolicy } from '../auth/policy.ts';
import type { CatalogReader } from '../catalog-reader.ts';
import type { Idempotency, InstallRequests } from '../install-requests.ts';
import type { InstallerRelay } from '../installer-relay.ts';
import { strictBody } from '../strict-body.ts';
import {
  idempotencyHeaders,
  installBody,
  installationSchema,
  repositoryScanSchema,
  upgradeByPathSchema,
  upgradeSchema,
} from './installation-schemas.ts';

interface InstallBody {
  name: string;
  namespace: string;
  profile:
    | { url: string; tag?: string; branch?: string; path?: string; secretRef?: SecretRef }
    | { catalog: string; name: string; version: string };
  target: InstallRequest['target'];
  values?: InstallRequest['values'];
  patches?: ArtifactPatches;
  valuesFrom?: ArtifactValuesFrom;
  mode: InstallRequest['mode'];
  dryRun: boolean;
  layout?: InstallRequest['layout'];
}

/** Conflict markers go to a pull request for the user to resolve, never onto the target branch. */
const checkConflicts = (c: ConflictResolution | undefined, mode: InstallRequest['mode']) => {
  if (c?.mode === 'markers' && mode !== 'pull-request') {
    throw new AppError('REQUEST_FIELD_INVALID', 'conflicts.mode markers needs mode pull-request', {
      details: { parameter: 'conflicts.mode' },
    });
  }
  return c ? { conflicts: c } : {};
};

/** Patches and valuesFrom given with an upgrade replace the recorded ones; absent, the installer keeps those. */
const artifactOptions = (b: { patches?: ArtifactPatches; valuesFrom?: ArtifactValuesFrom }) => ({
  ...(b.patches ? { patches: b.patches } : {}),
  ...(b.valuesFrom ? { valuesFrom: b.valuesFrom } : {}),
});

interface UpgradeBody {
  version?: string;
  dryRun?: boolean;
  mode?: InstallRequest['mode'];
  values?: InstallRequest['values'];
  patches?: ArtifactPatches;
  valuesFrom?: ArtifactValuesFrom;
  conflicts?: ConflictResolution;
}

interface UpgradeByPathBody {
  url: string;
  branch?: string;
  path: string;
  version?: string;
  mode?: InstallRequest['mode'];
  dryRun?: boolean;
  values?: InstallRequest['values'];
  patches?: ArtifactPatches;
  valuesFrom?: ArtifactValuesFrom;
  conflicts?: ConflictResolution;
  adopt?: boolean;
  layout?: InstallRequest['layout'];
  secretRef?: SecretRef;
  profileSecretRef?: SecretRef;
  fluxSource?: { name: string; namespace: string };
  pullRequest?: InstallRequest['target']['pullRequest'];
}

type IdemHeaders = { 'idempotency-key'?: string };

export interface InstallationsDeps {
  requests: InstallRequests;
  relay: InstallerRelay;
  /** Who may read a repository with which secret (the install permission there). */
  policy: WritePolicy;
}

const idempotency = (headers: IdemHeaders, request: unknown): Idempotency | undefined => {
  const key = headers['idempotency-key'];
  return key ? { key, request } : undefined;
};

/** Whether a profile given by git URL is listed in a catalog the caller sees (by repository and tag). */
async function isListed(reader: CatalogReader, p: ProfileSource): Promise<boolean> {
  if (p.catalog) return true;
  if (!p.tag) return false;
  const found = await reader.findByRepoTag(p.url, p.tag);
  return !!found && 'entry' in found;
}

const accepted = (reply: FastifyReply, out: { id: string; status: string }) =>
  reply.status(202).header('location', `/v1/installations/${out.id}`).send(out);

/**
 * The install endpoints: they parse a request into an InstallRequest and answer; `InstallRequests` stores and
 * publishes it, the installer does the work (dry runs too: it has the git checkouts).
 */
export function installationsRoutes(app: FastifyInstance, d: InstallationsDeps): void {
  installRoutes(app, d);
  upgradeRoutes(app, d);
  upgradeByPathRoutes(app, d);
  repositoryRoutes(app, d);
}

/** A profile named in a catalog is resolved to its repository and tag; one given by URL needs a tag or branch. */
async function resolveProfile(reader: CatalogReader, p: InstallBody['profile']): Promise<ProfileSource> {
  if ('catalog' in p) {
    const e = await reader.version(p.catalog, p.name, p.version);
    return { url: e.url, tag: e.tag, catalog: { catalog: p.catalog, name: p.name, version: e.version } };
  }
  if (!p.tag && !p.branch) throw new AppError('BAD_REQUEST', 'profile needs a tag or a branch');
  return { ...p };
}

/** An install request, and an installation's status. */
function installRoutes(app: FastifyInstance, d: InstallationsDeps): void {
  app.post<{ Body: InstallBody; Headers: IdemHeaders }>(
    '/v1/installations',
    strictBody({ body: installBody, headers: idempotencyHeaders }),
    async (req, reply) => {
      const b = req.body;
      const path = checkTargetPath(b.target.path ?? '.');
      checkValues(b.values);
      if (b.mode === 'pull-request' && !b.target.pullRequest) {
        throw new AppError(
          'BAD_REQUEST',
          'mode pull-request needs target.pullRequest (provider, apiUrl, repository)',
        );
      }
      const request: InstallRequest = {
        id: randomUUID(),
        kind: 'install',
        name: b.name,
        namespace: b.namespace,
        profile: await resolveProfile(req.catalog, b.profile),
        target: { ...b.target, branch: b.target.branch || 'main', path },
        values: b.values ?? {},
        ...artifactOptions(b),
        mode: b.mode,
        dryRun: b.dryRun,
        layout: parseLayout(b.layout),
        createdAt: new Date().toISOString(),
      };
      const idem = idempotency(req.headers, { route: 'install', body: b });
      const by = { identity: req.identity, listed: await isListed(req.catalog, request.profile) };
      return accepted(reply, await d.requests.submit(request, by, idem));
    },
  );

  app.get<{ Params: { id: string } }>('/v1/installations/:id', { schema: installationSchema }, async (req) =>
    d.requests.docFor(req.identity, req.params.id),
  );
}

/** An upgrade of an installation this service made. */
function upgradeRoutes(app: FastifyInstance, d: InstallationsDeps): void {
  app.post<{ Params: { id: string }; Body: UpgradeBody; Headers: IdemHeaders }>(
    '/v1/installations/:id/upgrade',
    strictBody(upgradeSchema),
    async (req, reply) => {
      checkValues(req.body?.values);
      const of = req.params.id;
      const doc = await d.requests.docFor(req.identity, of);
      const orig = await d.requests.request(of);
      if (!['committed', 'pr-opened', 'unchanged'].includes(doc.status) || orig.dryRun) {
        throw new AppError(
          'BAD_REQUEST',
          `installation ${of} is ${orig.dryRun ? 'a dry run' : doc.status}: nothing to upgrade`,
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
        const e = await req.catalog.version(from.catalog.catalog, from.catalog.name, version);
        profile = { url: e.url, tag: e.tag, catalog: { ...from.catalog, version: e.version } };
      }
      const request: InstallRequest = {
        ...orig,
        id: randomUUID(),
        kind: 'upgrade',
        profile,
        // Without values the installer keeps what the repository records (whatever this id's request said).
        values: req.body?.values ?? {},
        mode: req.body?.mode ?? orig.mode,
        dryRun: req.body?.dryRun ?? false,
        upgrade: {
          of,
          version,
          from,
          ...(req.body?.values ? { values: req.body.values } : {}),
          ...artifactOptions(req.body ?? {}),
          ...checkConflicts(req.body?.conflicts, req.body?.mode ?? orig.mode),
        },
        createdAt: new Date().toISOString(),
      };
      const idem = idempotency(req.headers, { route: 'upgrade', of, body: req.body ?? {} });
      const by = { identity: req.identity, listed: await isListed(req.catalog, profile) };
      return accepted(reply, await d.requests.submit(request, by, idem));
    },
  );
}

/**
 * Upgrade by repository path: for installations this service did not make (or whose request expired), the
 * installer reads the source, values and namespace from `<path>/profile-installation.yaml`.
 */
function upgradeByPathRoutes(app: FastifyInstance, d: InstallationsDeps): void {
  app.post<{ Body: UpgradeByPathBody; Headers: IdemHeaders }>(
    '/v1/repositories/installations/upgrade',
    strictBody(upgradeByPathSchema),
    async (req, reply) => {
      const b = req.body;
      const path = checkTargetPath(b.path, 'path');
      checkValues(b.values);
      const request: InstallRequest = {
        id: randomUUID(),
        kind: 'upgrade',
        name: '',
        namespace: '',
        profile: { url: '', ...(b.profileSecretRef ? { secretRef: b.profileSecretRef } : {}) },
        target: {
          url: b.url,
          branch: b.branch ?? 'main',
          path,
          ...(b.secretRef ? { secretRef: b.secretRef } : {}),
          ...(b.fluxSource ? { fluxSource: b.fluxSource } : {}),
          ...(b.pullRequest ? { pullRequest: b.pullRequest } : {}),
        },
        values: b.values ?? {},
        mode: b.mode ?? 'commit',
        dryRun: b.dryRun ?? false,
        upgrade: {
          of: '',
          version: b.version ?? 'latest',
          path,
          ...(b.values ? { values: b.values } : {}),
          ...artifactOptions(b),
          ...checkConflicts(b.conflicts, b.mode ?? 'commit'),
          ...(b.adopt ? { adopt: true } : {}),
          ...(b.layout ? { layout: parseLayout(b.layout) } : {}),
        },
        createdAt: new Date().toISOString(),
      };
      const idem = idempotency(req.headers, { route: 'upgrade-by-path', body: b });
      // The profile is named by the repository's installation file, unknown here: it counts as unlisted.
      return accepted(
        reply,
        await d.requests.submit(request, { identity: req.identity, listed: false }, idem),
      );
    },
  );
}

/** The installations found in a GitOps repository with their available updates, answered by an installer. */
function repositoryRoutes(app: FastifyInstance, d: InstallationsDeps): void {
  app.get<{
    Querystring: { url: string; branch?: string; path?: string; secret?: string; secretNamespace?: string };
  }>('/v1/repositories/installations', { schema: repositoryScanSchema }, async (req) => {
    const q = req.query;
    // Reading a repository with its secret is for those who may install there with that secret.
    d.policy.authorizeWrite(
      req.identity,
      { url: q.url, path: q.path ?? '.', secretRefs: q.secret ? [q.secret] : [] },
      true,
    );
    return d.relay.findInstallations({
      url: q.url,
      branch: q.branch ?? 'main',
      path: q.path ?? '.',
      ...(q.secret
        ? { secretRef: { name: q.secret, ...(q.secretNamespace ? { namespace: q.secretNamespace } : {}) } }
        : {}),
    });
  });
}
