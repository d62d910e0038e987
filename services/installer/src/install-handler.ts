import { describeError, installMessage, type InstallRequest } from '@profiles/shared';
import type { Logger, Redis } from '@profiles/shared/runtime';
import {
  ack,
  contextFromHeaders,
  inSpan,
  retryAfter,
  SpanKind,
  terminate,
  type JsMsg,
  type Verdict,
} from '@profiles/shared/runtime';
import { withCommitSlot } from './commit-slot.ts';
import type { InstallMetrics } from './metrics.ts';
import type { Processor } from './processor.ts';
import { NOT_STARTED, type RepositoryGate } from './repository-gate.ts';

export interface InstallHandlerDeps {
  processor: Processor;
  gate: RepositoryGate;
  metrics: InstallMetrics;
  redis: Redis;
  docKey: (id: string) => string;
  log: Logger;
}

/**
 * The work on one install message of a partition: decode it, wait for the repository's turn in the gate, run
 * the request, and say what becomes of the message (acked once the status is final).
 */
export function installHandler(d: InstallHandlerDeps): (m: JsMsg, partition: number) => Promise<Verdict> {
  return async (m: JsMsg, partition: number): Promise<Verdict> => {
    let started = 0;
    let id: string;
    let carried: InstallRequest | undefined;
    try {
      const msg = installMessage.decode(m.data);
      id = msg.id;
      carried = msg.request as InstallRequest | undefined;
    } catch (err) {
      d.log.error({ seq: m.seq, err: describeError(err) }, 'dropping a malformed install message');
      return terminate;
    }
    const span = {
      kind: SpanKind.CONSUMER,
      parent: contextFromHeaders(m.headers),
      attributes: { 'profiles.installation.id': id },
    };
    try {
      // The subject's last token names the repository; the unpartitioned subject's requests share one queue.
      const repo = m.subject.split('.').length > 3 ? m.subject.split('.').at(-1)! : '';
      // The duration recorded is the work's, not the wait for the repository's turn.
      const outcome = await d.gate.run(partition, repo, (release) => {
        started = performance.now();
        return withCommitSlot(release, () =>
          inSpan('installer handle install request', span, () => d.processor.handle(id, carried)),
        );
      });
      // Handed over before it started: straight back to the queue, for the partition's next owner.
      if (outcome === NOT_STARTED) return retryAfter(0);
      // Another replica holds the id's lease: ask again soon (its work ends or its lease runs out).
      if (outcome === 'busy') return retryAfter(5_000);
      const doc = await d.redis.get(d.docKey(id)).catch(() => null);
      const status = (JSON.parse(doc ?? '{}') as { status?: string }).status;
      d.metrics.finished(status ?? 'unknown', (performance.now() - started) / 1000);
      return ack;
    } catch (err) {
      d.log.warn({ id, err: describeError(err) }, 'install request failed, will be redelivered');
      throw err;
    }
  };
}
