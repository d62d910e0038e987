import { CustomObjectsApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import {
  API_GROUP,
  backoffDelay,
  describeError,
  EVENT_TYPES,
  makeEvent,
  sourceId,
  SUBJECTS,
  type Logger,
  type SourceRef,
} from '@profiles/shared';
import type { Publisher } from './publisher.ts';

/**
 * Kubernetes mode: list + watch of ProfileCatalogSources, cluster-wide or in a list of namespaces (one
 * reflector each). We drive client-node's `Watch` ourselves rather than its informer, which in 1.4 stops on
 * errors other than 410, never asks for bookmarks and has no effective timeout: here a watch that ends or
 * fails is resumed from the last resourceVersion with backoff, a 410 Gone re-lists, and a watch silent for
 * longer than its timeout (bookmarks included) is aborted and resumed.
 *
 * After every (re-)list the reflector diffs the list against what it knew (deletions made while it was
 * blind become deletes) and the watcher publishes a full snapshot; a periodic snapshot repeats it.
 *
 * Events are de-duplicated across replicas by their id, which is also the JetStream Nats-Msg-Id:
 * `<uid>:<generation>` for an upsert, `<uid>:deleted` for a delete. Every replica publishes the same id for the
 * same change, so JetStream stores it once (within its 2-minute window); a copy arriving later is harmless
 * because the indexer ignores an upsert whose generation is below the stored one for that uid, a delete for
 * another uid, and an identical object. Status-only changes do not bump the generation and publish nothing.
 */
export interface KubeSourceDeps {
  kc: KubeConfig;
  publisher: Publisher;
  log: Logger;
  /** Empty: all namespaces. */
  namespaces: string[];
  snapshotIntervalMs: number;
  watchTimeoutSeconds: number;
  maxBytes: number;
}

export const KUBE_ORIGIN = 'kubernetes';
const VERSION = 'v1alpha1';
const PLURAL = 'profilecatalogsources';

interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: unknown;
  status?: unknown;
}

interface Known {
  ref: SourceRef;
  uid: string;
  generation: number;
  /** Last status seen (kept for the status writer's "nothing changed" check). */
  status: unknown;
}

/** Only what the catalog depends on: resourceVersion, managedFields, status... vary without a spec change. */
export function slimObject(o: KubeObject): Record<string, unknown> {
  const md = o.metadata ?? {};
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: {
      name: md.name,
      namespace: md.namespace,
      uid: md.uid,
      generation: md.generation,
      ...(md.labels ? { labels: md.labels } : {}),
    },
    spec: o.spec ?? {},
  };
}

export function upsertEventId(uid: string, generation: number): string {
  return `${uid}:${generation}`;
}

export function deleteEventId(uid: string): string {
  return `${uid}:deleted`;
}

class GoneError extends Error {}

/** One list+watch loop over one scope (a namespace, or the whole cluster). */
class Reflector {
  readonly known = new Map<string, Known>();
  synced = false;
  relists = 0;
  private rv = '';
  private stopped = false;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly owner: KubeSource,
    readonly namespace: string | undefined,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
    await this.loop;
  }

  private get path(): string {
    return this.namespace
      ? `/apis/${API_GROUP}/${VERSION}/namespaces/${this.namespace}/${PLURAL}`
      : `/apis/${API_GROUP}/${VERSION}/${PLURAL}`;
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      this.wake = () => {
        clearTimeout(t);
        r();
      };
    });
    this.wake = undefined;
  }

  private async run(): Promise<void> {
    let failures = 0;
    let needList = true;
    while (!this.stopped) {
      try {
        if (needList) {
          await this.list();
          needList = false;
        }
        const outcome = await this.watchOnce();
        failures = 0;
        if (outcome === 'gone') needList = true;
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof GoneError) {
          needList = true;
          continue;
        }
        const delay = backoffDelay(failures++, { initialMs: 200, maxMs: 5_000 });
        if (failures === 1 || failures % 10 === 0)
          this.owner.deps.log.warn(
            { namespace: this.namespace ?? '*', err: describeError(err), retryInMs: delay },
            needList ? 'kubernetes list failed, retrying' : 'kubernetes watch failed, resuming',
          );
        await this.sleep(delay);
      }
    }
  }

  private async list(): Promise<void> {
    const api = this.owner.api;
    const items: KubeObject[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const base = { group: API_GROUP, version: VERSION, plural: PLURAL, limit: 500, _continue: cont };
      const page = (await (this.namespace
        ? api.listNamespacedCustomObject({ ...base, namespace: this.namespace })
        : api.listClusterCustomObject(base))) as {
        items?: KubeObject[];
        metadata?: { resourceVersion?: string; continue?: string };
      };
      items.push(...(page.items ?? []));
      rv = page.metadata?.resourceVersion ?? rv;
      cont = page.metadata?.continue || undefined;
    } while (cont && !this.stopped);
    const seen = new Set<string>();
    for (const o of items) {
      const id = this.apply(o);
      if (id) seen.add(id);
    }
    // Deleted while we were not watching: the list no longer has them.
    for (const [id, k] of this.known) if (!seen.has(id)) this.remove(id, k);
    this.rv = rv;
    this.synced = true;
    this.relists++;
    this.owner.deps.log.info(
      { namespace: this.namespace ?? '*', sources: this.known.size, resourceVersion: rv },
      'listed ProfileCatalogSources',
    );
    this.owner.onListed();
  }

  /** One watch request; resolves when it ends normally, 'gone' when the resourceVersion is too old. */
  private watchOnce(): Promise<'ended' | 'gone'> {
    const timeoutS = this.owner.deps.watchTimeoutSeconds;
    return new Promise((resolve, reject) => {
      let settled = false;
      let idle: NodeJS.Timeout | undefined;
      const finish = (err: unknown, outcome: 'ended' | 'gone' = 'ended') => {
        if (settled) return;
        settled = true;
        if (idle) clearTimeout(idle);
        this.abort?.abort();
        this.abort = undefined;
        if (err) reject(err);
        else resolve(outcome);
      };
      // The server ends a watch after timeoutSeconds; one silent for longer (no event, no bookmark) is dead.
      const arm = () => {
        if (idle) clearTimeout(idle);
        idle = setTimeout(
          () => finish(new Error(`watch silent for ${timeoutS + 15} s`)),
          (timeoutS + 15) * 1000,
        );
        idle.unref();
      };
      arm();
      const onEvent = (phase: string, obj: KubeObject & { code?: number; message?: string }) => {
        arm();
        if (phase === 'ERROR') {
          if (obj.code === 410) finish(undefined, 'gone');
          else finish(new Error(`watch error ${obj.code ?? ''}: ${obj.message ?? 'unknown'}`));
          return;
        }
        const rv = obj.metadata?.resourceVersion;
        if (phase === 'BOOKMARK') {
          if (rv) this.rv = rv;
          return;
        }
        if (phase === 'ADDED' || phase === 'MODIFIED') this.apply(obj);
        else if (phase === 'DELETED') {
          const ref = this.refOf(obj);
          const id = ref && sourceId(ref);
          const k = id && this.known.get(id);
          if (k && id) this.remove(id, k);
        }
        if (rv) this.rv = rv;
      };
      this.owner.watch
        .watch(
          this.path,
          { resourceVersion: this.rv, allowWatchBookmarks: true, timeoutSeconds: timeoutS },
          (phase, obj) => {
            try {
              onEvent(phase, obj as KubeObject);
            } catch (err) {
              finish(err);
            }
          },
          (err: unknown) => {
            const code = (err as { statusCode?: number; code?: number } | undefined)?.statusCode;
            if (code === 410) finish(undefined, 'gone');
            else finish(err && !this.stopped ? err : undefined);
          },
        )
        .then(
          (ac) => {
            if (settled) ac.abort();
            else this.abort = ac;
          },
          (err: unknown) => {
            const code = (err as { statusCode?: number } | undefined)?.statusCode;
            if (code === 410) finish(undefined, 'gone');
            else finish(err);
          },
        );
    });
  }

  private refOf(o: KubeObject): SourceRef | undefined {
    const name = o.metadata?.name;
    const namespace = o.metadata?.namespace;
    return name && namespace ? { namespace, name } : undefined;
  }

  /** Records an object; publishes an upsert when it is new, re-created or has a new generation. */
  private apply(o: KubeObject): string | undefined {
    const ref = this.refOf(o);
    const uid = o.metadata?.uid;
    if (!ref || !uid) return undefined;
    const id = sourceId(ref);
    const generation = o.metadata?.generation ?? 0;
    const prev = this.known.get(id);
    this.known.set(id, { ref, uid, generation, status: o.status });
    if (prev && prev.uid === uid && prev.generation === generation) return id;
    if (prev && prev.uid !== uid) this.owner.publishDelete(prev);
    this.owner.publishUpsert(ref, uid, generation, o);
    return id;
  }

  private remove(id: string, k: Known): void {
    this.known.delete(id);
    this.owner.publishDelete(k);
  }
}

export class KubeSource {
  readonly api: CustomObjectsApi;
  readonly watch: Watch;
  private readonly reflectors: Reflector[];
  private timer: NodeJS.Timeout | undefined;
  private readonly origin: string;

  constructor(readonly deps: KubeSourceDeps) {
    this.api = deps.kc.makeApiClient(CustomObjectsApi);
    this.watch = new Watch(deps.kc);
    const scopes = deps.namespaces.length ? [...new Set(deps.namespaces)].sort() : [undefined];
    this.reflectors = scopes.map((ns) => new Reflector(this, ns));
    // A watcher limited to some namespaces snapshots only those: its snapshot must not delete the sources
    // that a watcher of other namespaces indexed, so it has an origin of its own.
    this.origin = deps.namespaces.length ? `${KUBE_ORIGIN}:${scopes.join('+')}` : KUBE_ORIGIN;
  }

  /** Starts the reflectors; resolves once every scope has been listed once (the first snapshot is queued). */
  async start(): Promise<void> {
    for (const r of this.reflectors) r.start();
    while (!this.reflectors.every((r) => r.synced)) await new Promise((r) => setTimeout(r, 20));
    this.timer = setInterval(() => this.publishSnapshot(), this.deps.snapshotIntervalMs);
    this.timer.unref();
    this.deps.log.info(
      { namespaces: this.deps.namespaces.length ? this.deps.namespaces : 'all', sources: this.size() },
      'watching kubernetes for catalog sources',
    );
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.reflectors.map((r) => r.stop()));
  }

  size(): number {
    return this.reflectors.reduce((n, r) => n + r.known.size, 0);
  }

  /** Ids of the sources currently seen. */
  sources(): string[] {
    return this.reflectors.flatMap((r) => [...r.known.keys()]).sort();
  }

  /** How many lists ran (the first one and every re-list after a 410 or a failure). */
  relists(): number {
    return this.reflectors.reduce((n, r) => n + r.relists, 0);
  }

  /** Whether a namespace is watched by this watcher. */
  covers(namespace: string): boolean {
    return this.deps.namespaces.length === 0 || this.deps.namespaces.includes(namespace);
  }

  onListed(): void {
    if (this.reflectors.every((r) => r.synced)) this.publishSnapshot();
  }

  publishUpsert(ref: SourceRef, uid: string, generation: number, o: KubeObject): void {
    const object = slimObject(o);
    const size = Buffer.byteLength(JSON.stringify(object));
    if (size > this.deps.maxBytes) {
      // Still published, without its spec: the indexer reports the source as invalid in its status.
      this.deps.log.error(
        { source: sourceId(ref), bytes: size },
        `source ${sourceId(ref)} is larger than MAX_SOURCE_BYTES`,
      );
      object.spec = { profiles: 'too large' };
    }
    const ev = makeEvent(EVENT_TYPES.sourceUpserted, `watcher/${KUBE_ORIGIN}`, {
      ref,
      origin: this.origin,
      object,
      uid,
      generation,
    });
    ev.id = upsertEventId(uid, generation);
    this.deps.publisher.publish(SUBJECTS.source(ref), ev);
  }

  publishDelete(k: Known): void {
    const ev = makeEvent(EVENT_TYPES.sourceDeleted, `watcher/${KUBE_ORIGIN}`, {
      ref: k.ref,
      origin: this.origin,
      uid: k.uid,
    });
    ev.id = deleteEventId(k.uid);
    this.deps.publisher.publish(SUBJECTS.source(k.ref), ev);
  }

  private publishSnapshot(): void {
    const refs = this.reflectors.flatMap((r) => [...r.known.values()].map((k) => k.ref));
    this.deps.publisher.publish(
      SUBJECTS.sourcesSnapshot(this.origin),
      makeEvent(EVENT_TYPES.sourcesSnapshot, `watcher/${KUBE_ORIGIN}`, { origin: this.origin, refs }),
    );
  }
}
