import * as k8s from '@kubernetes/client-node';
import {
  AppError,
  describeError,
  EVENT_TYPES,
  makeEvent,
  sourceId,
  SUBJECTS,
  type SourceRef,
  type SourceResult,
} from '@profiles/shared';
import { backoffDelay, type Logger } from '@profiles/shared/runtime';
import type { Publisher } from './publisher.ts';
import { GROUP, PLURAL, statusOf, VERSION, type KubeObject } from './kube-client.ts';

export interface KubernetesSourceDeps {
  kc: k8s.KubeConfig;
  publisher: Publisher;
  log: Logger;
  /** Empty: all namespaces. */
  namespaces: string[];
  resyncIntervalMs: number;
  /** Server-side watch timeout; the client aborts a watch silent for this plus 30 s. */
  watchTimeoutSeconds?: number;
  /** The connection's max_payload: an upsert event larger than this can never be sent. */
  maxEventBytes?: () => number;
  /** Told of a source whose event is too large (its status says so; the previous catalog is kept). */
  onUnsendable?: (result: SourceResult) => void;
}

interface Known {
  ref: SourceRef;
  uid: string;
  generation: number;
}

/**
 * Kubernetes mode: lists and watches ProfileCatalogSources (all namespaces, or each configured one) and
 * publishes upserts and deletes. Every (re-)list publishes a full snapshot, so deletions missed while the
 * watcher was down or disconnected are applied. The event id is `<uid>:<generation>` (`<uid>:deleted` for a
 * deletion): JetStream de-duplicates it, so several watcher replicas publish each change once, and status-only
 * updates (no new generation) publish nothing.
 *
 * client-node's informer stops on most errors and its watch has no idle timeout, so this runs its own loop:
 * list, watch from the list's resourceVersion with a server-side timeout, re-watch from the last version
 * seen, re-list on 410 Gone or any error (with backoff), abort a watch that has been silent for too long.
 */
export class KubernetesSource {
  readonly origin: string;
  private readonly known = new Map<string, Map<string, Known>>(); // scope -> source id -> known
  private readonly custom: k8s.CustomObjectsApi;
  private readonly watch: k8s.Watch;
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  private readonly aborts = new Set<AbortController>();
  private readonly ready: Promise<void>[] = [];
  lists = 0;

  constructor(private readonly deps: KubernetesSourceDeps) {
    this.custom = deps.kc.makeApiClient(k8s.CustomObjectsApi);
    this.watch = new k8s.Watch(deps.kc);
    // Snapshots delete the sources of this origin that they do not list: watchers of different namespace
    // sets must not delete each other's sources.
    this.origin = deps.namespaces.length
      ? `kubernetes:${[...deps.namespaces].sort().join(',')}`
      : 'kubernetes';
  }

  /** Resolves once every scope has been listed (and its snapshot queued) once. */
  async start(): Promise<void> {
    const scopes = this.deps.namespaces.length ? this.deps.namespaces : [''];
    for (const scope of scopes) {
      let firstList!: () => void;
      this.ready.push(new Promise<void>((r) => (firstList = r)));
      this.loops.push(this.run(scope, firstList));
    }
    await Promise.all(this.ready);
    this.deps.log.info(
      { namespaces: this.deps.namespaces.length ? this.deps.namespaces : 'all', origin: this.origin },
      'watching ProfileCatalogSources',
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const a of this.aborts) a.abort();
    await Promise.all(this.loops);
  }

  private path(scope: string): string {
    return scope
      ? `/apis/${GROUP}/${VERSION}/namespaces/${scope}/${PLURAL}`
      : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
  }

  private async run(scope: string, listed: () => void): Promise<void> {
    let failures = 0;
    let nextResync = 0;
    let rv: string | undefined;
    while (!this.stopped) {
      try {
        if (!rv || Date.now() >= nextResync) {
          rv = await this.list(scope);
          nextResync = Date.now() + this.deps.resyncIntervalMs;
          listed();
        }
        rv = await this.watchOnce(scope, rv, nextResync);
        failures = 0;
      } catch (err) {
        if (this.stopped) break;
        rv = undefined; // re-list: on 410 Gone the version is too old; on other errors we may have missed events
        const level = statusOf(err) === 410 ? 'info' : 'warn';
        this.deps.log[level](
          { scope: scope || 'all namespaces', err: describeError(err), status: statusOf(err) },
          'watch interrupted; re-listing',
        );
        await new Promise((r) => setTimeout(r, backoffDelay(failures++, { initialMs: 200, maxMs: 5_000 })));
      }
    }
  }

  /** Lists the scope, publishes what changed and a snapshot of everything; returns the list's resourceVersion. */
  private async list(scope: string): Promise<string> {
    const res = (
      scope
        ? await this.custom.listNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace: scope,
            plural: PLURAL,
          })
        : await this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })
    ) as { items: KubeObject[]; metadata: { resourceVersion: string } };
    this.lists++;
    const prev = this.known.get(scope) ?? new Map<string, Known>();
    const next = new Map<string, Known>();
    for (const obj of res.items) {
      const k = this.toKnown(obj);
      next.set(sourceId(k.ref), k);
      this.publishUpsert(obj, k);
    }
    for (const [id, k] of prev) if (!next.has(id)) this.publishDelete(k);
    this.known.set(scope, next);
    const refs = [...this.known.values()].flatMap((m) => [...m.values()].map((k) => k.ref));
    this.deps.publisher.publish(
      SUBJECTS.sourcesSnapshot(this.origin),
      makeEvent(EVENT_TYPES.sourcesSnapshot, `watcher/${this.origin}`, { origin: this.origin, refs }),
    );
    return res.metadata.resourceVersion;
  }

  /** Watches until the server ends the watch (returns the last version seen) or something fails (throws). */
  private watchOnce(scope: string, resourceVersion: string, until: number): Promise<string> {
    const timeoutSeconds = Math.max(
      1,
      Math.min(this.deps.watchTimeoutSeconds ?? 300, Math.ceil((until - Date.now()) / 1000)),
    );
    let rv = resourceVersion;
    return new Promise<string>((resolve, reject) => {
      let settled = false;
      let controller: AbortController | undefined;
      let idle: NodeJS.Timeout | undefined;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        if (controller) {
          this.aborts.delete(controller);
          controller.abort();
        }
        if (err) reject(err);
        else resolve(rv);
      };
      const touch = () => {
        clearTimeout(idle);
        idle = setTimeout(
          () => finish(new AppError('UNAVAILABLE', `watch silent for ${timeoutSeconds + 30} s`)),
          (timeoutSeconds + 30) * 1000,
        );
      };
      touch();
      this.watch
        .watch(
          this.path(scope),
          { resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
          (type: string, obj: KubeObject & { code?: number; message?: string }) => {
            touch();
            if (type === 'ERROR') {
              // The API server's status (410 Gone: the version is too old) rides in details, for statusOf.
              const ended = new AppError('UNAVAILABLE', obj.message ?? 'watch error', {
                details: { status: obj.code },
              });
              return finish(ended);
            }
            if (obj?.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
            if (type === 'BOOKMARK') return;
            const k = this.toKnown(obj);
            const map = this.known.get(scope) ?? new Map<string, Known>();
            this.known.set(scope, map);
            if (type === 'DELETED') {
              map.delete(sourceId(k.ref));
              this.publishDelete(k);
            } else {
              map.set(sourceId(k.ref), k);
              this.publishUpsert(obj, k);
            }
          },
          (err: unknown) => finish(err ?? undefined),
        )
        .then(
          (c: AbortController) => {
            controller = c;
            if (settled || this.stopped) c.abort();
            else this.aborts.add(c);
          },
          (err: unknown) => finish(err),
        );
    });
  }

  private toKnown(obj: KubeObject): Known {
    return {
      ref: { namespace: obj.metadata.namespace, name: obj.metadata.name },
      uid: obj.metadata.uid,
      generation: obj.metadata.generation ?? 0,
    };
  }

  private publishUpsert(obj: KubeObject, k: Known): void {
    const object = {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace },
      spec: obj.spec ?? {},
    };
    const ev = makeEvent(EVENT_TYPES.sourceUpserted, `watcher/${this.origin}`, {
      ref: k.ref,
      origin: this.origin,
      object,
      uid: k.uid,
      generation: k.generation,
    });
    ev.id = `${k.uid}:${k.generation}`;
    const bytes = Buffer.byteLength(JSON.stringify(ev));
    const limit = this.deps.maxEventBytes?.() ?? Infinity;
    if (bytes > limit) {
      // Retrying could never succeed and would hold back every event behind it: say so on the object instead.
      const message =
        `source ${sourceId(k.ref)} is ${bytes} bytes as an event, more than NATS's max_payload of ${limit}; ` +
        'raise max_payload (8 MB holds any source under MAX_SOURCE_BYTES=1 MiB) or split the source; ' +
        'the previously indexed generation is kept';
      this.deps.log.error({ source: sourceId(k.ref), bytes, limit }, message);
      this.deps.onUnsendable?.({
        ref: k.ref,
        origin: this.origin,
        uid: k.uid,
        generation: k.generation,
        profiles: 0,
        versions: 0,
        entryErrors: [],
        ready: false,
        reason: 'SourceTooLarge',
        message,
      });
      return;
    }
    this.deps.publisher.publish(SUBJECTS.source(k.ref), ev);
  }

  private publishDelete(k: Known): void {
    const ev = makeEvent(EVENT_TYPES.sourceDeleted, `watcher/${this.origin}`, {
      ref: k.ref,
      origin: this.origin,
      uid: k.uid,
    });
    ev.id = `${k.uid}:deleted`;
    this.deps.publisher.publish(SUBJECTS.source(k.ref), ev);
  }
}
