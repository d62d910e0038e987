import { setTimeout as sleep } from 'node:timers/promises';
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { describeError } from './errors.ts';
import { consumerSpec, ensureConsumer, type ConsumerRef } from './nats.ts';
import { backoffDelay, type BackoffOptions } from './retry.ts';

/** What a handler decided about one message. */
export type Verdict =
  | { kind: 'ack' }
  /** Redeliver after this long (the message is naked with a delay). */
  | { kind: 'retry'; afterMs: number }
  /** Never redeliver: the message can never be handled (malformed). */
  | { kind: 'terminate' };

export const ack: Verdict = { kind: 'ack' };
export const terminate: Verdict = { kind: 'terminate' };
export const retryAfter = (afterMs: number): Verdict => ({ kind: 'retry', afterMs });

export interface ConsumerRunnerOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** The durable consumer (`shared/src/subjects.ts`), declared before every (re)start. */
  consumer: ConsumerRef;
  log: Logger;
  /** Messages handled at once (default 1: in order). */
  concurrency?: number;
  /** Messages pulled ahead (default 64, at least `concurrency`). */
  maxMessages?: number;
  /**
   * Backoff of a handler that threw, by delivery count (default 500 ms doubling to 30 s); also the pause
   * before resuming after the iterator ended.
   */
  backoff?: BackoffOptions;
  /** The work on one message; a throw retries it with `backoff`. */
  handle: (m: JsMsg) => Promise<Verdict>;
  /** Counts each message received and each one that failed (terminated or thrown): `ConsumerMetrics`. */
  metrics?: { received: (m: JsMsg) => void; failed: () => void };
}

export interface ConsumerRunner {
  /** Messages handled (acked, naked or terminated) since start. */
  handled: () => number;
  /** Stops pulling, waits for the messages in hand. */
  stop: () => Promise<void>;
}

/**
 * The one JetStream consume loop of the services. It declares the consumer and consumes; when the iterator
 * ends or fails (the consumer was deleted, the stream re-created, heartbeats missed, the server reset) it
 * declares the consumer again and resumes after a backoff, so a service never sits idle while looking
 * healthy. While a handler works, the message is kept in progress (`working()` every third of the ack wait),
 * so the ack wait can be short: a crashed replica's messages are redelivered soon, a slow one's never.
 */
export function runConsumer(o: ConsumerRunnerOptions): ConsumerRunner {
  const c = consumerSpec(o.consumer);
  const concurrency = Math.max(1, o.concurrency ?? 1);
  const backoff = { initialMs: 500, maxMs: 30_000, ...o.backoff };
  const running = new Set<Promise<void>>();
  let handled = 0;
  let stopping = false;
  let messages: { close: () => Promise<void | Error> } | undefined;

  const settle = (m: JsMsg, v: Verdict) => {
    if (v.kind === 'ack') m.ack();
    // No reason text: nats-server 2.9 does not understand `+TERM <reason>` and would redeliver.
    else if (v.kind === 'terminate') m.term();
    else m.nak(v.afterMs);
  };

  // A message waiting for a free slot is kept in progress too: only the ones being handled count against
  // `concurrency`, but every message received is ours until it is settled.
  let active = 0;
  const waiting: (() => void)[] = [];
  const slot = async () => {
    if (active < concurrency) {
      active++;
      return;
    }
    await new Promise<void>((r) => waiting.push(r));
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };

  const handleOne = async (m: JsMsg) => {
    const beat = setInterval(() => m.working(), Math.max(500, Math.floor(c.ackWaitMs / 3)));
    await slot();
    o.metrics?.received(m);
    try {
      const verdict = await o.handle(m);
      if (verdict.kind === 'terminate') o.metrics?.failed();
      settle(m, verdict);
    } catch (err) {
      o.metrics?.failed();
      const delay = backoffDelay(m.info.deliveryCount - 1, backoff);
      o.log.warn(
        { consumer: c.durable, subject: m.subject, seq: m.seq, err: describeError(err), retryInMs: delay },
        'message failed, will be redelivered',
      );
      m.nak(delay);
    } finally {
      clearInterval(beat);
      release();
      handled++;
    }
  };

  const consumeOnce = async () => {
    await ensureConsumer(o.jsm, o.consumer);
    const consumer = await o.js.consumers.get(c.stream, c.durable);
    // abort_on_missing_resource: a deleted consumer ends the iterator (and we declare it again) instead of
    // waiting forever for it to come back.
    const pull = Math.max(concurrency, o.maxMessages ?? 64);
    const iter = await consumer.consume({ max_messages: pull, abort_on_missing_resource: true });
    messages = iter;
    // stop() came while the consumer was being declared: it closed the previous iterator, not this one.
    if (stopping) await iter.close();
    for await (const m of iter) {
      const p = handleOne(m).finally(() => running.delete(p));
      running.add(p);
      if (running.size >= concurrency + pull) await Promise.race(running);
    }
  };

  const loop = (async () => {
    for (let attempt = 0; !stopping; attempt++) {
      const started = Date.now();
      try {
        await consumeOnce();
      } catch (err) {
        if (stopping) break;
        o.log.warn({ consumer: c.durable, err: describeError(err) }, 'consumption interrupted; resuming');
      }
      if (stopping) break;
      // A run that lasted a while was healthy: resume quickly.
      if (Date.now() - started > 10_000) attempt = 0;
      await sleep(backoffDelay(attempt, { initialMs: 200, maxMs: 5_000 }));
    }
  })();

  return {
    handled: () => handled,
    stop: async () => {
      stopping = true;
      await messages?.close();
      await loop.catch(() => undefined);
      await Promise.allSettled([...running]);
    },
  };
}
