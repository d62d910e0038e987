import { AppError, type CloudEvent } from '@profiles/shared';

/**
 * The entries of the Redis outbox: one per catalog write, holding every event of that write. The events of one
 * write share their envelope (source, time, trace context), so an entry stores it once and each event as
 * `[id, type, subject, data]`. A write of a 1,000-version source was 1,000 list elements of full CloudEvents
 * (half a megabyte sent to Redis, read back and parsed one by one); it is now one element of about half the
 * bytes. An event whose envelope differs from the first one's is stored whole, so nothing is lost whatever the
 * events are. Decoding gives the events back exactly (the same fields in the same order: the same bytes once
 * encoded), and also reads the entries of older indexers, one `{subject, event}` each.
 */
export interface OutboxItem {
  subject: string;
  event: CloudEvent;
}

/** The envelope fields an entry stores once, in the order `makeEvent` gives them. */
const SHARED = ['specversion', 'source', 'time', 'datacontenttype', 'traceparent', 'tracestate'] as const;
type Envelope = Partial<Pick<CloudEvent, (typeof SHARED)[number]>>;
type Compact = [id: string, type: string, subject: string, data: unknown];

interface Entry {
  envelope: Envelope;
  events: (Compact | OutboxItem)[];
}

export function encodeOutboxEntry(items: readonly OutboxItem[]): string {
  const envelope = envelopeOf(items[0]?.event);
  const events = items.map((item): Compact | OutboxItem =>
    fitsEnvelope(item, envelope) ? [item.event.id, item.event.type, item.subject, item.event.data] : item,
  );
  return JSON.stringify({ envelope, events } satisfies Entry);
}

/** The events of one outbox entry, in order. Throws EVENT_INVALID for an entry no indexer wrote. */
export function decodeOutboxEntry(raw: string): OutboxItem[] {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new AppError('EVENT_INVALID', 'outbox entry is not JSON');
  }
  if (isItem(v)) return [v]; // an older indexer's entry
  const entry = v as Partial<Entry> | null;
  if (!entry || typeof entry.envelope !== 'object' || !Array.isArray(entry.events))
    throw new AppError('EVENT_INVALID', 'outbox entry has neither an event nor a list of events');
  const envelope = entry.envelope ?? {};
  return entry.events.map((e) => {
    if (isItem(e)) return e;
    if (!Array.isArray(e) || e.length !== 4 || typeof e[0] !== 'string' || typeof e[1] !== 'string')
      throw new AppError('EVENT_INVALID', 'outbox entry holds a malformed event');
    const [id, type, subject, data] = e as Compact;
    const { specversion, source, time, datacontenttype, traceparent, tracestate } = envelope;
    // The field order of makeEvent, so the event encodes to the same bytes it would have had.
    const event = { specversion, id, source, type, time, datacontenttype, data, subject } as CloudEvent;
    if (traceparent !== undefined) event.traceparent = traceparent;
    if (tracestate !== undefined) event.tracestate = tracestate;
    return { subject, event };
  });
}

function envelopeOf(event: CloudEvent | undefined): Envelope {
  const out: Record<string, unknown> = {};
  if (event) for (const f of SHARED) if (event[f] !== undefined) out[f] = event[f];
  return out as Envelope;
}

/** The event is the envelope plus exactly id, type, data and its subject (the item's), in makeEvent's order. */
function fitsEnvelope(item: OutboxItem, envelope: Envelope): boolean {
  const ev = item.event;
  if (ev.subject !== item.subject) return false;
  for (const f of SHARED) if (ev[f] !== envelope[f]) return false;
  const keys = Object.keys(ev);
  const expected = ['specversion', 'id', 'source', 'type', 'time', 'datacontenttype', 'data', 'subject'];
  if (ev.traceparent !== undefined) expected.push('traceparent');
  if (ev.tracestate !== undefined) expected.push('tracestate');
  return keys.length === expected.length && keys.every((k, i) => k === expected[i]);
}

function isItem(v: unknown): v is OutboxItem {
  const o = v as Partial<OutboxItem> | null;
  return (
    !!o && !Array.isArray(o) && typeof o.subject === 'string' && typeof o.event === 'object' && !!o.event
  );
}
