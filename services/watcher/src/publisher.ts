import { encodeEvent, describeError, type CloudEvent } from '@profiles/shared';
import {
  inSpan,
  SpanKind,
  traceHeaders,
  backoffDelay,
  type JetStreamClient,
  type Logger,
} from '@profiles/shared/runtime';

export interface PublisherDeps {
  js: JetStreamClient;
  log: Logger;
}

/**
 * Publishes events to JetStream and never drops one: each event waits in a FIFO until the server has
 * acknowledged it, retrying with backoff while NATS is away. A newer event for the same subject replaces a
 * pending older one (the stream keeps only the latest per source anyway). The event id is the JetStream
 * de-duplication id, so a retry after a lost acknowledgement is stored once.
 */
export class Publisher {
  private readonly pending = new Map<string, CloudEvent>();
  private draining: Promise<void> | undefined;
  private closed = false;
  published = 0;
  /** When JetStream last acknowledged an event (ms since the epoch; 0: never): the watcher's heartbeat. */
  lastPublishedAt = 0;

  constructor(private readonly deps: PublisherDeps) {}

  publish(subject: string, event: CloudEvent): void {
    // Delete first so a replaced event moves to the back of the queue, behind events enqueued before it.
    this.pending.delete(subject);
    this.pending.set(subject, event);
    this.kick();
  }

  get backlog(): number {
    return this.pending.size;
  }

  /** Resolves once everything queued so far is acknowledged (or the publisher is closed). */
  async flush(): Promise<void> {
    while (this.pending.size > 0 && !this.closed) {
      this.kick();
      await this.draining;
    }
  }

  async close(timeoutMs = 5_000): Promise<void> {
    await Promise.race([this.flush(), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    this.closed = true;
    if (this.pending.size > 0)
      this.deps.log.warn(
        { backlog: this.pending.size },
        'publisher closed with unpublished events; the next snapshot republishes them',
      );
  }

  private kick(): void {
    if (this.draining || this.closed) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.pending.size > 0 && !this.closed) this.kick();
    });
  }

  private async drain(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      const first = this.pending.entries().next();
      if (first.done) return;
      const [subject, event] = first.value;
      try {
        // Each published change starts a trace; the indexer continues it from the message headers.
        await inSpan(
          'watcher publish source event',
          { kind: SpanKind.PRODUCER, attributes: eventAttributes(subject, event) },
          () =>
            this.deps.js.publish(subject, encodeEvent(event), {
              msgID: event.id,
              timeout: 5_000,
              ...optionalHeaders(),
            }),
        );
        // Remove only if no newer event replaced it while the publish was in flight.
        if (this.pending.get(subject) === event) this.pending.delete(subject);
        this.published++;
        this.lastPublishedAt = Date.now();
        failures = 0;
      } catch (err) {
        if (/max_payload/i.test(describeError(err))) {
          // Permanent: retrying would hold back every event behind this one. The folder source checks sizes
          // first and reports the file; this is the last guard for any other producer.
          this.deps.log.error(
            { subject, bytes: encodeEvent(event).length, err: describeError(err) },
            'event larger than NATS max_payload dropped; raise max_payload',
          );
          if (this.pending.get(subject) === event) this.pending.delete(subject);
          continue;
        }
        if (failures % 10 === 0)
          this.deps.log.warn(
            { subject, err: describeError(err), backlog: this.pending.size },
            'publish failed, will retry',
          );
        await new Promise((r) => setTimeout(r, backoffDelay(failures++, { initialMs: 100, maxMs: 2_000 })));
      }
    }
  }
}

function eventAttributes(subject: string, event: CloudEvent): Record<string, string> {
  const ref = (event.data as { ref?: { namespace: string; name: string } }).ref;
  return {
    'messaging.destination.name': subject,
    'profiles.event.type': event.type,
    ...(ref ? { 'profiles.source': `${ref.namespace}/${ref.name}` } : {}),
  };
}

function optionalHeaders(): { headers?: NonNullable<ReturnType<typeof traceHeaders>> } {
  const headers = traceHeaders();
  return headers ? { headers } : {};
}
