import { createHash } from 'node:crypto';
import {
  AppError,
  SUBJECTS,
  describeError,
  installMessage,
  isAppError,
  type InstallationDoc,
  type InstallationKeys,
  type InstallRequest,
} from '@profiles/shared';
import {
  inSpan,
  lastFinalStatus,
  SpanKind,
  traceHeaders,
  type FinalStatus,
  type JetStreamHandles,
  type Logger,
  type Redis,
} from '@profiles/shared/runtime';
import type { Identity } from './auth/identity.ts';
import { targetOf, type WritePolicy } from './auth/policy.ts';

export interface InstallRequestsDeps {
  redis: Redis;
  keys: InstallationKeys;
  /** Who may write where (auth/policy.ts). */
  policy: WritePolicy;
  nats: JetStreamHandles | undefined;
  log: Logger;
}

/** What a client sent with an Idempotency-Key: the key and the request it stands for (route and body). */
export interface Idempotency {
  key: string;
  /** Everything that makes the request what it is, e.g. `{ route, params, body }`; compared by digest. */
  request: unknown;
}

const IDEMPOTENCY_TTL_S = 7 * 24 * 3600;

/** Who sends a request, and whether its profile is listed in a catalog they see. */
export interface Requester {
  identity: Identity;
  listed: boolean;
}

/**
 * The one way an install or upgrade request enters the system: claim its Idempotency-Key, store the request,
 * its `queued` status and its id in the unpublished set in one transaction, and only then publish the id to
 * JetStream (the id is the message id). A publish that fails is left to the outbox (`install-outbox.ts`), so a
 * 202 never loses a request. Before anything is stored the write policy authorizes the requester (a 403 naming
 * the missing permission; nothing stored, nothing queued), and who asked is recorded on the request, its status
 * and in an audit log line.
 */
export class InstallRequests {
  constructor(private readonly d: InstallRequestsDeps) {}

  async submit(
    unchecked: InstallRequest,
    by: Requester,
    idem?: Idempotency,
  ): Promise<{ id: string; status: string }> {
    this.d.policy.authorizeWrite(by.identity, targetOf(unchecked), by.listed);
    const req: InstallRequest = { ...unchecked, requestedBy: by.identity.user };
    if (!this.d.nats) throw new AppError('UNAVAILABLE', 'the install queue is not configured');
    if (idem) {
      const earlier = await this.claim(req.id, idem);
      if (earlier) return earlier;
    }
    const now = new Date().toISOString();
    const doc: InstallationDoc = {
      id: req.id,
      status: 'queued',
      requestedBy: req.requestedBy!,
      createdAt: now,
      updatedAt: now,
    };
    try {
      const replies = await this.d.redis
        .multi()
        .set(this.d.keys.request(req.id), JSON.stringify(req))
        .set(this.d.keys.doc(req.id), JSON.stringify(doc))
        .zadd(this.d.keys.unpublished(), Date.now(), req.id)
        .exec();
      const failed = replies?.find(([e]) => e);
      if (!replies || failed)
        throw failed?.[0] ?? new AppError('UNAVAILABLE', 'storing the install request was aborted');
    } catch (err) {
      // Nothing was stored: free the key, so the client's retry with it is a new request.
      if (idem) await this.d.redis.del(this.d.keys.idempotency(idem.key)).catch(() => 0);
      throw err;
    }
    this.d.log.info(
      {
        audit: req.kind,
        id: req.id,
        requestedBy: req.requestedBy,
        via: by.identity.via,
        target: { url: req.target.url, branch: req.target.branch, path: req.target.path },
        profile: req.profile.catalog ?? { url: req.profile.url, tag: req.profile.tag },
        dryRun: req.dryRun,
      },
      'install request accepted',
    );
    try {
      await this.publish(req.id, 2_000, req);
    } catch (err) {
      this.d.log.warn(
        { id: req.id, err: describeError(err) },
        'publishing an install request failed; the outbox retries',
      );
    }
    return { id: req.id, status: 'queued' };
  }

  /**
   * Publishes one stored request (read back from Redis unless given) on its target repository's partition and
   * takes it off the unpublished set once JetStream stored it. The request rides along in the message, so an
   * installer that finds it missing in Redis (wiped, failed over) stores it again.
   */
  async publish(id: string, timeoutMs = 2_000, stored?: InstallRequest): Promise<void> {
    if (!this.d.nats) throw new AppError('UNAVAILABLE', 'the install queue is not configured');
    const request = stored ?? (await this.request(id).catch(ifNotFound));
    // A request no longer stored cannot be installed; the installer drops it from the unpartitioned queue.
    const subject = request
      ? SUBJECTS.installRequest(request.target.url)
      : SUBJECTS.installRequestUnpartitioned;
    // Inside the request's server span: the installer continues the trace from the message headers.
    await inSpan(
      'api publish install request',
      { kind: SpanKind.PRODUCER, attributes: { 'profiles.installation.id': id } },
      () => {
        const headers = traceHeaders();
        return this.d.nats!.js.publish(subject, installMessage.encode(request ? { id, request } : { id }), {
          msgID: id,
          timeout: timeoutMs,
          ...(headers ? { headers } : {}),
        });
      },
    );
    await this.d.redis.zrem(this.d.keys.unpublished(), id);
  }

  doc(id: string): Promise<InstallationDoc> {
    return this.read<InstallationDoc>(this.d.keys.doc(id), id);
  }

  request(id: string): Promise<InstallRequest> {
    return this.read<InstallRequest>(this.d.keys.request(id), id);
  }

  /**
   * An installation's status as `identity` may see it: its requester and those the policy allows on its target
   * do; to anyone else it is not found, like a missing one. A status Redis lost (wiped, failed over) is restored
   * from its copy in JetStream. When the request is gone too, the target recorded with that copy is what the
   * policy judges; with neither, only the requester (or an open API) is answered: refused rather than leaked.
   */
  async docFor(identity: Identity, id: string): Promise<InstallationDoc> {
    let kept: FinalStatus | undefined;
    const doc = (await this.doc(id).catch(ifNotFound)) ?? (kept = await this.restore(id)).doc;
    if (identity.open || (identity.via !== 'anonymous' && doc.requestedBy === identity.user)) return doc;
    const req = await this.request(id).catch(() => undefined);
    const target = req?.target ?? (kept ?? (await this.finalStatus(id).catch(() => undefined)))?.target;
    if (target && this.d.policy.allowsTarget(identity, target)) return doc;
    throw notFound(id);
  }

  /** The final status JetStream kept for `id`, stored in Redis again (as the installer stores it: no TTL). */
  private async restore(id: string): Promise<FinalStatus> {
    const kept = await this.finalStatus(id);
    if (!kept) throw notFound(id);
    // NX: a status the installer wrote in the meantime is newer than the copy.
    await this.d.redis.set(this.d.keys.doc(id), JSON.stringify(kept.doc), 'NX');
    this.d.log.warn(
      { id, status: kept.doc.status },
      'installation status missing in Redis; restored from JetStream',
    );
    return kept;
  }

  private async finalStatus(id: string): Promise<FinalStatus | undefined> {
    if (!this.d.nats) return undefined;
    try {
      return await lastFinalStatus(this.d.nats.jsm, id);
    } catch (err) {
      // Not knowing is not "not found": a client may take a 404 as final.
      throw new AppError('UNAVAILABLE', 'installation statuses cannot be read right now; retry', {
        cause: err,
      });
    }
  }

  private async read<T>(key: string, id: string): Promise<T> {
    const raw = await this.d.redis.get(key);
    if (!raw) throw notFound(id);
    return JSON.parse(raw) as T;
  }

  /**
   * Claims the key for `id` (`SET NX`), or answers the installation that claimed it before. The key remembers
   * a digest of the request: the same key with another request is refused, as payment APIs do.
   */
  private async claim(id: string, idem: Idempotency): Promise<{ id: string; status: string } | undefined> {
    const key = this.d.keys.idempotency(idem.key);
    const digest = requestDigest(idem.request);
    const ok = await this.d.redis.set(key, JSON.stringify({ id, digest }), 'EX', IDEMPOTENCY_TTL_S, 'NX');
    if (ok === 'OK') return undefined;
    const raw = await this.d.redis.get(key);
    if (!raw) return undefined; // expired in between: the claim is ours to retry next time
    // Keys stored before digests were kept hold the bare id.
    const earlier = raw.startsWith('{') ? (JSON.parse(raw) as { id: string; digest?: string }) : { id: raw };
    if (earlier.digest !== undefined && earlier.digest !== digest) {
      throw new AppError(
        'IDEMPOTENCY_KEY_REUSED',
        `Idempotency-Key ${JSON.stringify(idem.key)} was used for a different request (installation ${earlier.id})`,
        { details: { parameter: 'Idempotency-Key', in: 'headers', installation: earlier.id } },
      );
    }
    const doc = await this.d.redis.get(this.d.keys.doc(earlier.id));
    return { id: earlier.id, status: doc ? (JSON.parse(doc) as InstallationDoc).status : 'queued' };
  }
}

const notFound = (id: string) =>
  new AppError('INSTALLATION_NOT_FOUND', `installation ${JSON.stringify(id)} not found`, { details: { id } });

/** A request that is not stored (any other failure, e.g. of Redis, is thrown). */
function ifNotFound(err: unknown): undefined {
  if (isAppError(err) && err.code === 'INSTALLATION_NOT_FOUND') return undefined;
  throw err;
}

/** A digest of a JSON value that does not depend on the order of object keys. */
export function requestDigest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
