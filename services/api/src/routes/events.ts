import { once } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { DeliverPolicy } from '@nats-io/jetstream';
import { AppError, decodeEvent, STREAMS, type CloudEvent } from '@profiles/shared';
import { contextFromHeaders, inSpan, SpanKind, type JetStreamClient } from '@profiles/shared/runtime';
import type { Audience } from '../auth/audience.ts';
import type { Identity } from '../auth/identity.ts';
import type { CatalogReader } from '../catalog-reader.ts';
import type { Metrics } from '../metrics.ts';
import { onlyKnownParams } from './search.ts';

/**
 * `GET /v1/events`: the catalog's change events as Server-Sent Events. Each event's `id` is its JetStream
 * stream sequence, so a client that reconnects with `Last-Event-ID` resumes right after the last event it saw:
 * nothing missed, nothing twice (an ordered consumer per connection, started at that sequence). Without it the
 * stream starts with new events. Filters: `catalog` (name or namespace/name) and `profile`. A caller gets only
 * the events of sources it sees at the time of the event.
 */
export function eventRoutes(
  app: FastifyInstance,
  deps: {
    js: JetStreamClient | undefined;
    /** The caller's audience now: asked per event, so a grant or revoke counts on open streams too. */
    audience: (identity: Identity) => Audience | Promise<Audience>;
    heartbeatMs?: number;
    metrics?: Metrics;
  },
): void {
  app.get<{ Querystring: { catalog?: string; profile?: string; lastEventId?: string } }>(
    '/v1/events',
    {
      schema: {
        summary: 'Catalog change events (Server-Sent Events, resumable with Last-Event-ID)',
        tags: ['events'],
        querystring: QUERY,
      },
      preValidation: onlyKnownParams(['catalog', 'profile', 'lastEventId']),
    },
    async (req, reply) => {
      if (!deps.js)
        throw new AppError('UNAVAILABLE', 'events need NATS, which this API instance is not connected to');
      const last = lastEventId(req.headers['last-event-id'], req.query.lastEventId);
      const catalog = req.query.catalog ? await catalogFilter(req.catalog, req.query.catalog) : undefined;
      const consumer = await deps.js.consumers.get(STREAMS.catalog.name, {
        ...(last !== undefined
          ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Number(last) + 1 }
          : { deliver_policy: DeliverPolicy.New }),
      });
      const messages = await consumer.consume();
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(': connected\n\n');
      const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), deps.heartbeatMs ?? 15_000);
      const close = () => {
        clearInterval(heartbeat);
        void messages.close();
      };
      req.raw.on('close', close);
      if (deps.metrics) deps.metrics.sseClients++;
      try {
        for await (const m of messages) {
          let ev;
          try {
            ev = decodeEvent(m.data);
          } catch {
            continue;
          }
          const filters = { catalog, profile: req.query.profile };
          if (!(await isWanted(ev, filters, () => deps.audience(req.identity)))) continue;
          deps.metrics?.sseEvents.add(1);
          const frame = `id: ${m.seq}\nevent: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`;
          const sent = inSpan(
            'api send catalog event to sse client',
            {
              kind: SpanKind.CONSUMER,
              parent: contextFromHeaders(m.headers),
              attributes: { 'profiles.event.type': ev.type },
            },
            async () => res.write(frame),
          );
          // Backpressure: wait for a slow client instead of buffering without bound.
          if (!(await sent)) await once(res, 'drain');
        }
      } finally {
        if (deps.metrics) deps.metrics.sseClients--;
        close();
        res.end();
      }
    },
  );
}

const QUERY = {
  type: 'object',
  properties: {
    catalog: { type: 'string', maxLength: 317 },
    profile: { type: 'string', maxLength: 200 },
    lastEventId: {
      type: 'string',
      pattern: '^[0-9]{1,15}$',
      description: 'same as the Last-Event-ID header',
    },
  },
} as const;

/** The event to resume after: the Last-Event-ID header, else the `lastEventId` parameter. */
function lastEventId(header: string | string[] | undefined, param: string | undefined): string | undefined {
  const last = (Array.isArray(header) ? header[0] : header) ?? param;
  if (last !== undefined && !/^[0-9]{1,15}$/.test(last)) {
    throw new AppError('BAD_REQUEST', 'Last-Event-ID must be an event id (a sequence number)', {
      details: { parameter: 'Last-Event-ID' },
    });
  }
  return last;
}

/**
 * Which sources' events a `catalog` filter keeps. A subscriber may wait for a catalog that does not exist yet:
 * an unknown bare name matches that name in any namespace.
 */
async function catalogFilter(
  reader: CatalogReader,
  wanted: string,
): Promise<(ns: string, name: string) => boolean> {
  const ref = await reader.resolveCatalog(wanted).catch((err: unknown) => {
    if (err instanceof AppError && err.code === 'CATALOG_NOT_FOUND') return undefined;
    throw err;
  });
  if (ref) return (ns, name) => ns === ref.namespace && name === ref.name;
  return wanted.includes('/') ? (ns, name) => `${ns}/${name}` === wanted : (_ns, name) => name === wanted;
}

/**
 * Whether an event goes to the caller: it passes the filters and is about a source the caller sees now (one
 * about no source only to an open API's caller).
 */
async function isWanted(
  ev: CloudEvent,
  filters: { catalog: ((ns: string, name: string) => boolean) | undefined; profile: string | undefined },
  audience: () => Audience | Promise<Audience>,
): Promise<boolean> {
  const d = ev.data as {
    ref?: { namespace: string; name: string };
    catalog?: { namespace: string; name: string };
    profile?: string;
  };
  const of = d.catalog ?? d.ref;
  if (filters.catalog && (!of || !filters.catalog(of.namespace, of.name))) return false;
  const seen = await audience();
  if (of ? !seen.sees(`${of.namespace}/${of.name}`) : !seen.all) return false;
  return !filters.profile || d.profile === filters.profile;
}
