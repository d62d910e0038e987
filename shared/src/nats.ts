import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { retry } from './retry.ts';
import { CONSUMERS, STREAMS, type ConsumerSpec } from './subjects.ts';

export type { NatsConnection, Subscription } from '@nats-io/transport-node';
export type { JetStreamClient, JetStreamManager, JsMsg, Consumer } from '@nats-io/jetstream';

const ms = (n: number) => n * 1_000_000; // JetStream durations are nanoseconds

/**
 * Connects to NATS, retrying until the server answers (a service may start before its NATS), and reconnects
 * forever afterwards.
 */
export async function connectNats(
  servers: string[],
  log: Logger,
  name: string,
  signal?: AbortSignal,
): Promise<NatsConnection> {
  const nc = await retry(
    () =>
      // noAsyncTraces: otherwise every request and JetStream publish builds an Error up front (a stack trace),
      // in case it times out; the indexer publishing a large catalog's events spent a quarter of its CPU there.
      connect({
        servers,
        name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        waitOnFirstConnect: false,
        noAsyncTraces: true,
      }),
    {
      initialMs: 200,
      maxMs: 3_000,
      ...(signal ? { signal } : {}),
      onError: (err, attempt) => {
        if (attempt % 10 === 0)
          log.warn({ err: (err as Error).message, servers }, 'nats not reachable yet, retrying');
      },
    },
  );
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect')
        log.warn({ status: s.type }, 'nats connection status');
    }
  })().catch(() => undefined);
  return nc;
}

/**
 * `replicas`: copies of each stream in a NATS cluster (NATS_STREAM_REPLICAS; 3 survives the loss of any one
 * server, the stream leader included). 1 on a single server, which cannot hold more.
 */
function streamConfigs(replicas: number): (Partial<StreamConfig> & { name: string })[] {
  const common = { storage: StorageType.File, num_replicas: replicas, discard: DiscardPolicy.Old };
  return [
    {
      name: STREAMS.sources.name,
      subjects: [...STREAMS.sources.subjects],
      ...common,
      retention: RetentionPolicy.Limits,
      max_msgs_per_subject: STREAMS.sources.maxMsgsPerSubject,
      duplicate_window: ms(STREAMS.sources.duplicateWindowMs),
    },
    {
      name: STREAMS.catalog.name,
      subjects: [...STREAMS.catalog.subjects],
      ...common,
      retention: RetentionPolicy.Limits,
      max_age: ms(STREAMS.catalog.maxAgeMs),
      max_msgs: STREAMS.catalog.maxMsgs,
      duplicate_window: ms(STREAMS.catalog.duplicateWindowMs),
    },
    {
      name: STREAMS.installs.name,
      subjects: [...STREAMS.installs.subjects],
      ...common,
      retention: RetentionPolicy.Workqueue,
      duplicate_window: ms(STREAMS.installs.duplicateWindowMs),
    },
    {
      name: STREAMS.installStatus.name,
      subjects: [...STREAMS.installStatus.subjects],
      ...common,
      retention: RetentionPolicy.Limits,
      max_msgs_per_subject: STREAMS.installStatus.maxMsgsPerSubject,
      max_age: ms(STREAMS.installStatus.maxAgeMs),
      duplicate_window: ms(STREAMS.installStatus.duplicateWindowMs),
    },
  ];
}

/**
 * Declares every stream (idempotent: creates, or updates a changed config). Each service calls this at start,
 * so they may start in any order.
 */
export async function ensureStreams(jsm: JetStreamManager, replicas = 1): Promise<void> {
  for (const cfg of streamConfigs(replicas)) {
    try {
      await jsm.streams.info(cfg.name);
      await jsm.streams.update(cfg.name, cfg);
    } catch (err) {
      if (!/stream not found/i.test((err as Error).message)) throw err;
      try {
        await jsm.streams.add(cfg);
      } catch (addErr) {
        // Another service created it between our look-up and our add.
        if (!/already in use/i.test((addErr as Error).message)) throw addErr;
      }
    }
  }
}

/** A consumer by its CONSUMERS name, or one made elsewhere (the installer's partitions). */
export type ConsumerRef = keyof typeof CONSUMERS | ConsumerSpec;

export function consumerSpec(which: ConsumerRef): ConsumerSpec {
  return typeof which === 'string' ? CONSUMERS[which] : which;
}

/** Declares a durable pull consumer from the CONSUMERS table (or a spec made like them). */
export async function ensureConsumer(jsm: JetStreamManager, which: ConsumerRef): Promise<void> {
  const c = consumerSpec(which);
  const config = {
    ...(c.filterSubject ? { filter_subject: c.filterSubject } : {}),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: c.deliverNew ? DeliverPolicy.New : DeliverPolicy.All,
    ack_wait: ms(c.ackWaitMs),
    max_deliver: c.maxDeliver,
    max_ack_pending: c.maxAckPending ?? 1000,
  };
  try {
    await jsm.consumers.add(c.stream, { durable_name: c.durable, ...config });
  } catch (err) {
    // Declared before with other settings (an older release's ack wait): bring the editable ones up to date.
    const existing = await jsm.consumers.info(c.stream, c.durable).catch(() => undefined);
    if (!existing) throw err;
    await jsm.consumers.update(c.stream, c.durable, {
      ack_wait: config.ack_wait,
      max_deliver: config.max_deliver,
      max_ack_pending: config.max_ack_pending,
    });
  }
}

export interface JetStreamHandles {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

export async function connectJetStream(
  servers: string[],
  log: Logger,
  name: string,
  signal?: AbortSignal,
  opts: { streamReplicas?: number } = {},
): Promise<JetStreamHandles> {
  const nc = await connectNats(servers, log, name, signal);
  const jsm = await retry(() => jetstreamManager(nc), {
    initialMs: 200,
    maxMs: 3_000,
    ...(signal ? { signal } : {}),
    onError: (err, attempt) => {
      if (attempt % 10 === 0)
        log.warn({ err: (err as Error).message }, 'jetstream not available yet, retrying');
    },
  });
  await retry(() => ensureStreams(jsm, opts.streamReplicas), {
    initialMs: 200,
    maxMs: 3_000,
    attempts: 20,
    ...(signal ? { signal } : {}),
  });
  return { nc, js: jetstream(nc), jsm };
}
