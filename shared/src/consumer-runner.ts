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

  // A message waiting for a free slot is kept in progress too: only the ones being handled count against
  // `concurrency`, but every message received is ours until it is settled.
  const slots = new Slots(concurrency);

  const handleOne = async (m: JsMsg) => {
    const beat = setInterval(() => m.working(), Math.max(500, Math.floor(c.ackWaitMs / 3)));
    await slots.take();
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
      slots.release();
      handled++;
    }
  };

  const consumeOnce = async () => {
    await ensureConsumer(o.jsm, o.consumer);
    const consumer = await o.js.consumers.get(c.stream, c.durable);
    // abort_on_missing_resource: a deleted consumer ends the iterator (and we declare it again) instead of
    // waiting forever for it to come back.
    const pull = Math.max(concurrency, o.maxMessages ?? 64);
    // expires 5 s (heartbeats every 2.5 s): when the consumer's leader moves (its NATS server died) the
    // outstanding pull is lost with it; two missed heartbeats re-pull from the new leader within ~5 s, where
    // the default 30 s kept a service idle for ~30 s (test/faults-under-load.test.ts, NATS leader killed).
    const iter = await consumer.consume({
      max_messages: pull,
      expires: 5_000,
      abort_on_missing_resource: true,
    });
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

function settle(m: JsMsg, v: Verdict): void {
  if (v.kind === 'ack') m.ack();
  // No reason text: nats-server 2.9 does not understand `+TERM <reason>` and would redeliver.
  else if (v.kind === 'terminate') m.term();
  else m.nak(v.afterMs);
}

/** At most `size` holders at once; the others wait in arrival order. */
class Slots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  async take(): Promise<void> {
    if (this.active < this.size) {
      this.active++;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }

  /** Hands the slot to the next waiter, if any. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}
