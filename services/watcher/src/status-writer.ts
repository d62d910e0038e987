import {
  ApiException,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import {
  API_GROUP,
  decodeEvent,
  describeError,
  EVENT_TYPES,
  isEventOf,
  sourceId,
  STATUS_WRITER_CONSUMER,
  type CloudEvent,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type Logger,
  type SourceResult,
} from '@profiles/shared';

/**
 * Writes the indexer's results back to each ProfileCatalogSource's status subresource (and nothing else:
 * RBAC grants only `patch` on `profilecatalogsources/status`). Results come from PROFILES_CATALOG through one
 * shared durable consumer, so with several watcher replicas each result is written by one of them.
 *
 * A result is written only when it describes the object's current incarnation (same uid) and generation; an
 * older one is stale and dropped. The desired status is compared with the current one (ignoring transition
 * times) and nothing is written when they agree. The patch carries the resourceVersion it was computed from:
 * a concurrent change answers 409 and the result is retried against the fresh object.
 */
export interface StatusWriterDeps {
  kc: KubeConfig;
  js: JetStreamClient;
  jsm: JetStreamManager;
  log: Logger;
  /** Whether this watcher watches the namespace (others' results are acked and skipped). */
  covers: (namespace: string) => boolean;
  now?: () => string;
}

export interface Condition {
  type: 'Ready' | 'Reconciling' | 'Stalled';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface SourceStatusPatch {
  observedGeneration?: number;
  profiles: number;
  versions: number;
  entryErrors: { entry: string; reason: string }[];
  conditions: Condition[];
  scannedRepositories?: unknown[];
}

interface CurrentObject {
  metadata?: { uid?: string; generation?: number; resourceVersion?: string };
  status?: Partial<SourceStatusPatch>;
}

/**
 * The status a result calls for. Ready=True when every entry indexed; otherwise Ready=False and Stalled=True
 * (only a spec change can fix an invalid entry), both naming the first bad entry. lastTransitionTime is kept
 * from the current condition when its status does not change.
 */
export function desiredStatus(
  failed: boolean,
  r: SourceResult,
  current: CurrentObject['status'],
  now: string,
): SourceStatusPatch {
  const gen = r.generation;
  const reason =
    r.reason ?? (failed ? (r.entryErrors.length ? 'InvalidEntries' : 'InvalidSource') : 'Indexed');
  const cond = (type: Condition['type'], status: Condition['status'], message: string): Condition => {
    const prev = current?.conditions?.find((c) => c.type === type);
    return {
      type,
      status,
      reason,
      message,
      ...(gen !== undefined ? { observedGeneration: gen } : {}),
      lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now,
    };
  };
  return {
    ...(gen !== undefined ? { observedGeneration: gen } : {}),
    profiles: r.profiles,
    versions: r.versions,
    entryErrors: r.entryErrors,
    ...(r.scannedRepositories ? { scannedRepositories: r.scannedRepositories } : {}),
    conditions: [
      cond('Ready', failed ? 'False' : 'True', r.message),
      cond('Reconciling', 'False', failed ? 'indexing stopped on invalid input' : 'up to date'),
      cond('Stalled', failed ? 'True' : 'False', failed ? r.message : 'no error'),
    ],
  };
}

/** True when `current` already says everything `desired` says. */
export function statusMatches(desired: SourceStatusPatch, current: CurrentObject['status']): boolean {
  if (!current) return false;
  const pick = (s: Partial<SourceStatusPatch>) =>
    JSON.stringify({
      scannedRepositories: desired.scannedRepositories ? s.scannedRepositories : undefined,
      observedGeneration: s.observedGeneration,
      profiles: s.profiles,
      versions: s.versions,
      entryErrors: s.entryErrors ?? [],
      conditions: (s.conditions ?? []).map((c) => ({
        type: c.type,
        status: c.status,
        reason: c.reason,
        message: c.message,
        observedGeneration: c.observedGeneration,
      })),
    });
  return pick(desired) === pick(current);
}

export class StatusWriter {
  private readonly api: CustomObjectsApi;
  private messages: { close: () => Promise<void | Error> } | undefined;
  private loop: Promise<void> | undefined;
  /** Status patches sent, and results that needed none (tests and metrics read them). */
  writes = 0;
  skipped = 0;

  constructor(private readonly deps: StatusWriterDeps) {
    this.api = deps.kc.makeApiClient(CustomObjectsApi);
  }

  async start(): Promise<void> {
    const c = STATUS_WRITER_CONSUMER;
    await this.deps.jsm.consumers.add(c.stream, {
      durable_name: c.durable,
      filter_subject: c.filterSubject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: c.ackWaitMs * 1_000_000,
      max_deliver: c.maxDeliver,
      max_ack_pending: 1000,
    });
    const consumer = await this.deps.js.consumers.get(c.stream, c.durable);
    const messages = await consumer.consume({ max_messages: 64 });
    this.messages = messages;
    this.loop = (async () => {
      for await (const m of messages) await this.handle(m);
    })();
  }

  async stop(): Promise<void> {
    await this.messages?.close();
    await this.loop?.catch(() => undefined);
  }

  private async handle(m: JsMsg): Promise<void> {
    let ev: CloudEvent;
    try {
      ev = decodeEvent(m.data);
    } catch (err) {
      this.deps.log.error({ subject: m.subject, err: describeError(err) }, 'dropping a malformed result');
      m.term();
      return;
    }
    try {
      if (isEventOf(ev, EVENT_TYPES.sourceIndexed)) await this.write(false, ev.data);
      else if (isEventOf(ev, EVENT_TYPES.sourceFailed)) await this.write(true, ev.data);
      m.ack();
    } catch (err) {
      const attempt = m.info.deliveryCount;
      const delay = Math.min(30_000, 250 * 2 ** Math.min(attempt, 7));
      this.deps.log.warn(
        { subject: m.subject, attempt, err: describeError(err), retryInMs: delay },
        'status write failed, will retry',
      );
      m.nak(delay);
    }
  }

  private async write(failed: boolean, r: SourceResult): Promise<void> {
    const { namespace, name } = r.ref;
    if (!this.deps.covers(namespace) || !r.uid) return;
    const base = { group: API_GROUP, version: 'v1alpha1', namespace, plural: 'profilecatalogsources', name };
    let current: CurrentObject;
    try {
      current = (await this.api.getNamespacedCustomObject(base)) as CurrentObject;
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return; // deleted since: nothing to report on
      throw err;
    }
    const md = current.metadata ?? {};
    if (md.uid !== r.uid) return; // a result about an earlier incarnation of this name
    const stale =
      r.generation !== undefined &&
      (r.generation < (md.generation ?? 0) || r.generation < (current.status?.observedGeneration ?? 0));
    if (stale) {
      this.skipped++;
      return;
    }
    const desired = desiredStatus(failed, r, current.status, (this.deps.now ?? nowIso)());
    if (statusMatches(desired, current.status)) {
      this.skipped++;
      return;
    }
    try {
      await this.api.patchNamespacedCustomObjectStatus(
        { ...base, body: { metadata: { resourceVersion: md.resourceVersion }, status: desired } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return;
      throw err; // 409: changed meanwhile; redelivery recomputes against the fresh object
    }
    this.writes++;
    this.deps.log.info(
      { source: sourceId(r.ref), generation: r.generation, ready: !failed },
      `status of ${sourceId(r.ref)} written`,
    );
  }
}

function nowIso(): string {
  // Kubernetes' metav1.Time has second precision.
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}
