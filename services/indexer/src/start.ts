import { hostname } from 'node:os';
import {
  catalogKeys,
  decodeEvent,
  describeError,
  isAppError,
  type CatalogKeys,
  type CloudEvent,
  type FileError,
} from '@profiles/shared';
import {
  ack,
  runConsumer,
  terminate,
  type Verdict,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type Logger,
  type Redis,
  ServiceMetrics,
  contextFromHeaders,
  inSpan,
  SpanKind,
} from '@profiles/shared/runtime';
import { applyEvent } from './apply-event.ts';
import { CatalogRepair, coveredByRebuild, type CatalogRepairDeps } from './catalog-repair.ts';
import { CatalogWriter } from './catalog-writer.ts';
import { storeFileErrors } from './file-errors.ts';
import { registerIndexerMetrics } from './metrics.ts';
import { Outbox } from './outbox.ts';
import { PollScheduler } from './poll-scheduler.ts';
import { migrateSearchLayout } from './search-layout.ts';
import type { ScannerDeps } from './git/repo-scanner.ts';

export interface IndexerDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** A connection used only by the indexer's writer (WATCH is per connection). */
  redis: Redis;
  redisPrefix: string;
  log: Logger;
  /** Repository scanning (git); without it `spec.repositories` are reported as not scanned. */
  scanner?: ScannerDeps;
  /** Default rescan period of repositories, in seconds. */
  pollIntervalSeconds?: number;
  /** How often the poll scheduler looks for due sources (ms). */
  pollTickMs?: number;
  /** Where the indexer's series are recorded (served at /metrics by main.ts). */
  metrics?: ServiceMetrics;
  /** Sources the catalog rebuild writes at once (INDEXER_REBUILD_LANES); default 3. */
  rebuildLanes?: number;
}

export interface Indexer {
  writer: CatalogWriter;
  outbox: Outbox;
  poller: PollScheduler;
  /** Rebuilds the catalog when Redis lost it; `ready()` is false until the catalog is whole. */
  repair: CatalogRepair;
  /** Events handled (acked or terminated) since start. */
  handled: () => number;
  /** Events the durable consumer acked without applying: a running rebuild replays them (`coveredByRebuild`). */
  leftToRebuild: () => number;
  stop: () => Promise<void>;
}

/**
 * Consumes the sources stream through the durable `indexer` consumer (the shared consumer runner), one event
 * at a time, and acks each event only after Redis holds its result. A failure naks the event for redelivery
 * with backoff; an event that can never be applied (malformed) is terminated and logged.
 */
export async function start(deps: IndexerDeps): Promise<Indexer> {
  const keys = catalogKeys(deps.redisPrefix);
  // Before any write: a catalog of an older layout is migrated rather than written to half in the new one.
  await migrateSearchLayout({ redis: deps.redis, keys, log: deps.log });
  const writer = new CatalogWriter({ redis: deps.redis, keys, log: deps.log });
  const outbox = new Outbox({
    redis: deps.redis,
    keys,
    js: deps.js,
    log: deps.log,
    owner: `${hostname()}:${process.pid}:${Math.random()}`,
  });
  outbox.start();
  const poller = startPoller(deps, keys);
  const consumed = registerIndexerMetrics(deps.metrics ?? new ServiceMetrics('indexer'), {
    writer,
    outbox,
    redis: deps.redis,
    keys,
    jsm: deps.jsm,
  });
  // `redis` is the writer's own connection.
  const applyDeps = (writer: CatalogWriter, redis: Redis, progress?: () => void) => ({
    writer,
    fileErrors: (origin: string, errors: FileError[], seq: number) =>
      storeFileErrors(redis, keys, origin, errors, seq),
    log: deps.log,
    ...(deps.scanner ? { scanner: deps.scanner } : {}),
    defaultPollSeconds: deps.pollIntervalSeconds ?? 300,
    ...(progress ? { progress } : {}),
  });
  const { repair, stopRepair } = startRepair(
    deps,
    keys,
    (ev, seq, redis, w) => applyEvent(applyDeps(w, redis), ev, seq),
    (replay) => outbox.heldDuring(replay),
  );
  let leftToRebuild = 0;
  const handle = (m: JsMsg) =>
    handleEvent(m, deps.log, async (ev) => {
      if (await coveredByRebuild(deps.redis, keys, m.seq)) {
        leftToRebuild++;
        deps.log.debug({ seq: m.seq }, 'event left to the running catalog rebuild');
        return;
      }
      await applyEvent(
        applyDeps(writer, deps.redis, () => m.working()),
        ev,
        m.seq,
      );
      outbox.kick();
    });
  // One event at a time, in stream order.
  const consumer = runConsumer({
    js: deps.js,
    jsm: deps.jsm,
    consumer: 'indexer',
    log: deps.log,
    maxMessages: 64,
    backoff: { initialMs: 250, maxMs: 30_000 },
    metrics: consumed,
    handle,
  });

  return {
    writer,
    outbox,
    handled: consumer.handled,
    leftToRebuild: () => leftToRebuild,
    poller,
    repair,
    stop: async () => {
      await stopRepair();
      await consumer.stop();
      await poller.stop();
      await outbox.stop();
    },
  };
}

/** Re-scans git sources on their intervals (poll-scheduler.ts). */
function startPoller(deps: IndexerDeps, keys: CatalogKeys): PollScheduler {
  const poller = new PollScheduler({
    redis: deps.redis,
    keys,
    js: deps.js,
    log: deps.log,
    defaultIntervalSeconds: deps.pollIntervalSeconds ?? 300,
    ...(deps.pollTickMs ? { tickMs: deps.pollTickMs } : {}),
  });
  poller.start();
  return poller;
}

/**
 * One message of the sources stream: a malformed or invalid event is terminated (it can never apply), a
 * failure is thrown for the runner to redeliver, an applied event is acked.
 */
async function handleEvent(
  m: JsMsg,
  log: Logger,
  apply: (ev: CloudEvent) => Promise<void>,
): Promise<Verdict> {
  let ev;
  try {
    ev = decodeEvent(m.data);
  } catch (err) {
    log.error({ subject: m.subject, seq: m.seq, err: describeError(err) }, 'dropping a malformed event');
    return terminate;
  }
  const ref = (ev.data as { ref?: { namespace: string; name: string } }).ref;
  const span = {
    kind: SpanKind.CONSUMER,
    parent: contextFromHeaders(m.headers),
    attributes: {
      'profiles.event.type': ev.type,
      'messaging.message.id': ev.id,
      ...(ref ? { 'profiles.source': `${ref.namespace}/${ref.name}` } : {}),
    },
  };
  try {
    await inSpan('indexer apply source event', span, () => apply(ev));
    return ack;
  } catch (err) {
    if (isAppError(err) && err.code === 'EVENT_INVALID') return terminate;
    throw err; // redelivered with the runner's backoff
  }
}

/**
 * Starts the catalog repair. Its rebuild replays the stream beside the durable consumer, on connections of its
 * own (the writer uses WATCH): one per lane, each with its writer, so one source is planned while another's
 * transaction runs in Redis.
 */
function startRepair(
  deps: IndexerDeps,
  keys: CatalogKeys,
  apply: (ev: CloudEvent, seq: number, redis: Redis, writer: CatalogWriter) => Promise<void>,
  whileReplaying: CatalogRepairDeps['whileReplaying'],
): { repair: CatalogRepair; stopRepair: () => Promise<void> } {
  const lanes = Array.from({ length: Math.max(1, deps.rebuildLanes ?? 3) }, (_, i) => {
    const redis = deps.redis.duplicate({ connectionName: `indexer-repair-${i}` });
    redis.on('error', () => {
      /* the writer's connection logs connection trouble; these retry with it */
    });
    return { redis, writer: new CatalogWriter({ redis, keys, log: deps.log }) };
  });
  const repair = new CatalogRepair({
    redis: lanes[0]!.redis,
    keys,
    js: deps.js,
    jsm: deps.jsm,
    log: deps.log,
    owner: `${hostname()}:${process.pid}`,
    lanes: lanes.length,
    apply: (ev, seq, lane) => apply(ev, seq, lanes[lane]!.redis, lanes[lane]!.writer),
    whileReplaying,
  });
  repair.start();
  return {
    repair,
    stopRepair: async () => {
      await repair.stop();
      for (const l of lanes) l.redis.disconnect();
    },
  };
}
