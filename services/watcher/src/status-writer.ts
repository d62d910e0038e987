import * as k8s from '@kubernetes/client-node';
import {
  AppError,
  decodeEvent,
  describeError,
  EVENT_TYPES,
  isEventOf,
  type SourceResult,
} from '@profiles/shared';
import {
  backoffDelay,
  type ConsumerMetrics,
  ack,
  ensureConsumer,
  runConsumer,
  terminate,
  type ConsumerRunner,
  type Verdict,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type Logger,
} from '@profiles/shared/runtime';
import { GROUP, PLURAL, statusOf, VERSION, type KubeObject } from './kube-client.ts';

export interface StatusWriterDeps {
  kc: k8s.KubeConfig;
  js: JetStreamClient;
  jsm: JetStreamManager;
  log: Logger;
  /** Only results of this origin are written (the watcher's own). */
  origin: string;
  /** Records the consumer's series (messages consumed, failed, redelivered, pending). */
  consumer?: ConsumerMetrics;
}

interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export function desiredStatus(
  r: SourceResult,
  previous: Record<string, unknown> | undefined,
  now: string,
): Record<string, unknown> {
  const ready = r.ready ?? r.entryErrors.length === 0;
  // Nothing changes these until the object does: retrying cannot help.
  const stalled = r.reason === 'InvalidSource' || r.reason === 'SourceTooLarge';
  const prevConditions = (Array.isArray(previous?.conditions) ? previous.conditions : []) as Condition[];
  const cond = (type: string, status: Condition['status'], reason: string, message: string): Condition => {
    const before = prevConditions.find((c) => c.type === type);
    const c: Condition = {
      type,
      status,
      reason,
      message,
      // The transition time moves only when the status does.
      lastTransitionTime: before && before.status === status ? before.lastTransitionTime : now,
    };
    if (r.generation !== undefined) c.observedGeneration = r.generation;
    return c;
  };
  const status: Record<string, unknown> = {
    conditions: [
      cond('Ready', ready ? 'True' : 'False', r.reason ?? (ready ? 'Indexed' : 'Failed'), r.message),
      cond('Reconciling', 'False', 'Indexed', 'the latest generation has been indexed'),
      cond(
        'Stalled',
        stalled ? 'True' : 'False',
        stalled ? (r.reason ?? 'Failed') : 'Indexed',
        stalled ? r.message : '',
      ),
    ],
    profiles: r.profiles,
    versions: r.versions,
    entryErrors: r.entryErrors,
  };
  if (r.generation !== undefined) status.observedGeneration = r.generation;
  if (r.scannedRepositories) status.scannedRepositories = r.scannedRepositories;
  return status;
}

/**
 * Writes the indexer's results back to each ProfileCatalogSource's status subresource: kstatus conditions
 * (Ready, Reconciling, Stalled), observedGeneration, counts, entry errors and scanned repositories. It reads
 * the `source.indexed` / `source.failed` events through the shared durable consumer `status-writer`, so with
 * several watcher replicas each result is written once. A result for another object (same name, new uid) or
 * an older generation is skipped, and nothing is written when the status would not change.
 */
export class StatusWriter {
  private consumer: ConsumerRunner | undefined;
  private readonly custom: k8s.CustomObjectsApi;
  writes = 0;
  /** Status writes that failed and were put back for a retry after a backoff. */
  backoffs = 0;

  constructor(private readonly deps: StatusWriterDeps) {
    this.custom = deps.kc.makeApiClient(k8s.CustomObjectsApi);
  }

  async start(): Promise<void> {
    await ensureConsumer(this.deps.jsm, 'statusWriter');
    this.consumer = runConsumer({
      js: this.deps.js,
      jsm: this.deps.jsm,
      consumer: 'statusWriter',
      log: this.deps.log,
      maxMessages: 32,
      ...(this.deps.consumer ? { metrics: this.deps.consumer } : {}),
      handle: (m) => this.handle(m),
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
  }

  /**
   * Writes a result the watcher found itself (a source too large to send), retried with backoff; a result
   * that cannot be written is written again at the next re-list.
   */
  async report(r: SourceResult): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.write(r);
        return;
      } catch (err) {
        this.backoffs++;
        if (attempt >= 4) {
          this.deps.log.warn(
            { source: `${r.ref.namespace}/${r.ref.name}`, err: describeError(err) },
            'status write failed; written again at the next re-list',
          );
          return;
        }
        await new Promise((res) => setTimeout(res, backoffDelay(attempt, { initialMs: 200, maxMs: 5_000 })));
      }
    }
  }

  private async handle(m: JsMsg): Promise<Verdict> {
    let ev;
    try {
      ev = decodeEvent(m.data);
    } catch {
      return terminate;
    }
    if (!isEventOf(ev, EVENT_TYPES.sourceIndexed) && !isEventOf(ev, EVENT_TYPES.sourceFailed)) return ack;
    const r = ev.data as SourceResult;
    if (r.origin !== this.deps.origin || !r.uid) return ack;
    try {
      await this.write(r);
      return ack;
    } catch (err) {
      this.backoffs++;
      this.deps.log.warn(
        { source: `${r.ref.namespace}/${r.ref.name}`, err: describeError(err) },
        'status write failed; will retry',
      );
      throw err; // redelivered with the runner's backoff
    }
  }

  private async write(r: SourceResult): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      let obj: KubeObject;
      try {
        obj = (await this.custom.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: r.ref.namespace,
          plural: PLURAL,
          name: r.ref.name,
        })) as KubeObject;
      } catch (err) {
        if (statusOf(err) === 404) return; // deleted since
        throw err;
      }
      if (obj.metadata.uid !== r.uid) return; // a newer object of the same name
      if (
        (obj.metadata.generation ?? 0) > (r.generation ?? 0) &&
        (obj.status?.observedGeneration as number | undefined) !== undefined
      ) {
        // A newer generation is being indexed: its own result will follow.
        if (((obj.status?.observedGeneration as number) ?? 0) >= (r.generation ?? 0)) return;
      }
      const status = desiredStatus(r, obj.status, new Date().toISOString());
      if (canonicalJson(status) === canonicalJson(obj.status ?? {})) return;
      try {
        await this.custom.replaceNamespacedCustomObjectStatus({
          group: GROUP,
          version: VERSION,
          namespace: r.ref.namespace,
          plural: PLURAL,
          name: r.ref.name,
          body: { ...obj, status },
        });
        this.writes++;
        return;
      } catch (err) {
        if (statusOf(err) !== 409) throw err; // 409: changed meanwhile, read again
      }
    }
    throw new AppError('UNAVAILABLE', 'status kept changing while being written');
  }
}

/**
 * JSON with object keys sorted: the API server returns a custom resource's fields in its own (sorted) order,
 * so a plain JSON.stringify never equals the status we built and every result would be written again.
 */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}
