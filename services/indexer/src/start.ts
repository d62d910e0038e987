import { hostname } from 'node:os';
import {
  catalogKeys,
  CONSUMERS,
  decodeEvent,
  describeError,
  ensureConsumer,
  isAppError,
  type JetStreamClient,
  type JetStreamManager,
  type FileError,
  type JsMsg,
  type Logger,
  type Redis,
  ServiceMetrics,
  contextFromHeaders,
  inSpan,
  SpanKind,
} from '@profiles/shared';
import { applyEvent } from './apply-event.ts';
import { CatalogRepair } from './catalog-repair.ts';
import { CatalogWriter } from './catalog-writer.ts';
import { storeFileErrors } from './file-errors.ts';
import { registerIndexerMetrics } from './metrics.ts';
import { Outbox } from './outbox.ts';
import { PollScheduler } from './poll-scheduler.ts';
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
}

export interface Indexer {
  writer: CatalogWriter;
  outbox: Outbox;
  poller: PollScheduler;
  /** Rebuilds the catalog when Redis lost it; `ready()` is false until the catalog is whole. */
  repair: CatalogRepair;
  /** Events handled (acked or terminated) since start. */
  handled: () => number;
  stop: () => Promise<void>;
}

/**
 * Consumes the sources stream through the durable `indexer` consumer, one event at a time, and acks each
 * event only after Redis holds its result. A failure naks the event for redelivery with backoff; an event
 * that can never be applied (malformed) is terminated and logged.
 */
export async function start(deps: IndexerDeps): Promise<Indexer> {
  const keys = catalogKeys(deps.redisPrefix);
  const writer = new CatalogWriter({ redis: deps.redis, keys, log: deps.log });
  const outbox = new Outbox({
    redis: deps.redis,
    keys,
    js: deps.js,
    log: deps.log,
    owner: `${hostname()}:${process.pid}:${Math.random()}`,
  });
  outbox.start();
  await ensureConsumer(deps.jsm, 'indexer');
  const c = CONSUMERS.indexer;
  const poller = new PollScheduler({
    redis: deps.redis,
    keys,
    js: deps.js,
    log: deps.log,
    defaultIntervalSeconds: deps.pollIntervalSeconds ?? 300,
    ...(deps.pollTickMs ? { tickMs: deps.pollTickMs } : {}),
  });
  poller.start();
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
  // The rebuild replays the stream beside the durable consumer, on a connection of its own (WATCH).
  const repairRedis = deps.redis.duplicate({ connectionName: 'indexer-repair' });
  repairRedis.on('error', () => {
    /* the writer's connection logs connection trouble; this one retries with it */
  });
  const repairWriter = new CatalogWriter({ redis: repairRedis, keys, log: deps.log });
  const repair = new CatalogRepair({
    redis: repairRedis,
    keys,
    js: deps.js,
    jsm: deps.jsm,
    log: deps.log,
    owner: `${hostname()}:${process.pid}`,
    apply: async (ev, seq) => {
      await applyEvent(applyDeps(repairWriter, repairRedis), ev, seq);
      outbox.kick();
    },
  });
  repair.start();
  let handled = 0;
  let stopping = false;
  let messages: Awaited<ReturnType<Awaited<ReturnType<typeof deps.js.consumers.get>>['consume']>> | undefined;

  const handle = async (m: JsMsg) => {
    consumed.received(m);
    let ev;
    try {
      ev = decodeEvent(m.data);
    } catch (err) {
      consumed.failed();
      deps.log.error(
        { subject: m.subject, seq: m.seq, err: describeError(err) },
        'dropping a malformed event',
      );
      // No reason text: nats-server 2.9 does not understand `+TERM <reason>` and would redeliver.
      m.term();
      return;
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
      await inSpan('indexer apply source event', span, () =>
        applyEvent(
          applyDeps(writer, deps.redis, () => m.working()),
          ev,
          m.seq,
        ),
      );
      outbox.kick();
      m.ack();
    } catch (err) {
      consumed.failed();
      const attempt = m.info.deliveryCount;
      const delay = Math.min(30_000, 250 * 2 ** Math.min(attempt, 7));
      deps.log.warn(
        { subject: m.subject, seq: m.seq, attempt, err: describeError(err), retryInMs: delay },
        'event failed, will be redelivered',
      );
      if (isAppError(err) && err.code === 'EVENT_INVALID') m.term();
      else m.nak(delay);
    }
  };

  // The consume iterator ends if the consumer disappears (stream re-created, server reset): declare it again
  // and resume, so the indexer never sits idle while looking healthy.
  const loop = (async () => {
    for (let attempt = 0; !stopping; attempt++) {
      try {
        await ensureConsumer(deps.jsm, 'indexer');
        const consumer = await deps.js.consumers.get(c.stream, c.durable);
        messages = await consumer.consume({ max_messages: 64 });
        attempt = 0;
        for await (const m of messages) {
          await handle(m);
          handled++;
        }
      } catch (err) {
        if (stopping) break;
        deps.log.warn({ err: describeError(err) }, 'event consumption interrupted; resuming');
      }
      if (!stopping) await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * 2 ** attempt)));
    }
  })();

  return {
    writer,
    outbox,
    handled: () => handled,
    poller,
    repair,
    stop: async () => {
      stopping = true;
      await repair.stop();
      repairRedis.disconnect();
      await messages?.close();
      await loop.catch(() => undefined);
      await poller.stop();
      await outbox.stop();
    },
  };
}
