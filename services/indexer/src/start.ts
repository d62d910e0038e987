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
  type JsMsg,
  type Logger,
  type Redis,
} from '@profiles/shared';
import { applyEvent } from './apply-event.ts';
import { CatalogWriter } from './catalog-writer.ts';
import { Outbox } from './outbox.ts';

export interface IndexerDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** A connection used only by the indexer's writer (WATCH is per connection). */
  redis: Redis;
  redisPrefix: string;
  log: Logger;
}

export interface Indexer {
  writer: CatalogWriter;
  outbox: Outbox;
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
  const consumer = await deps.js.consumers.get(c.stream, c.durable);
  const messages = await consumer.consume({ max_messages: 64 });
  let handled = 0;

  const handle = async (m: JsMsg) => {
    let ev;
    try {
      ev = decodeEvent(m.data);
    } catch (err) {
      deps.log.error(
        { subject: m.subject, seq: m.seq, err: describeError(err) },
        'dropping a malformed event',
      );
      // No reason text: nats-server 2.9 does not understand `+TERM <reason>` and would redeliver.
      m.term();
      return;
    }
    try {
      await applyEvent({ writer, log: deps.log }, ev, m.seq);
      outbox.kick();
      m.ack();
    } catch (err) {
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

  const loop = (async () => {
    for await (const m of messages) {
      await handle(m);
      handled++;
    }
  })();

  return {
    writer,
    outbox,
    handled: () => handled,
    stop: async () => {
      await messages.close();
      await loop.catch(() => undefined);
      await outbox.stop();
    },
  };
}
