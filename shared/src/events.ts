import { randomUUID } from 'node:crypto';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { traceAttributes } from './tracing.ts';
import { AppError } from './errors.ts';

/**
 * Event envelopes are CloudEvents 1.0 in JSON (structured mode). Each event type has a data schema checked at
 * runtime on both ends: producers never publish, and consumers never act on, a malformed event.
 */
export const EVENT_TYPES = {
  sourceUpserted: 'works.weave.profiles.source.upserted',
  sourceDeleted: 'works.weave.profiles.source.deleted',
  sourcesSnapshot: 'works.weave.profiles.sources.snapshot',
  sourceRefresh: 'works.weave.profiles.source.refresh',
  sourceIndexed: 'works.weave.profiles.source.indexed',
  sourceFailed: 'works.weave.profiles.source.failed',
  sourceRemoved: 'works.weave.profiles.source.removed',
  versionAdded: 'works.weave.profiles.version.added',
  versionRemoved: 'works.weave.profiles.version.removed',
  versionMoved: 'works.weave.profiles.version.moved',
} as const;

export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

const Ref = Type.Object({ namespace: Type.String({ minLength: 1 }), name: Type.String({ minLength: 1 }) });
const Origin = Type.String({
  minLength: 1,
  description: 'who observed the change: folder:<dir> or kubernetes',
});

export const SourceUpsertedData = Type.Object({
  ref: Ref,
  origin: Origin,
  /** The whole ProfileCatalogSource object as read; the indexer validates its content. */
  object: Type.Record(Type.String(), Type.Unknown()),
  uid: Type.Optional(Type.String()),
  generation: Type.Optional(Type.Integer()),
  file: Type.Optional(Type.String()),
});

export const SourceDeletedData = Type.Object({
  ref: Ref,
  origin: Origin,
  uid: Type.Optional(Type.String()),
});

/** A file of a watched folder that yields no source (or not all of them), with the reason. */
export const FileError = Type.Object({
  file: Type.String({ maxLength: 4096 }),
  message: Type.String({ maxLength: 4096 }),
});
export type FileError = Static<typeof FileError>;

/** Every source an origin sees now, and (folder mode) the files it cannot read, so users see them. */
export const SourcesSnapshotData = Type.Object({
  origin: Origin,
  refs: Type.Array(Ref),
  fileErrors: Type.Optional(Type.Array(FileError, { maxItems: 10_000 })),
});

/** Asks the indexer to rescan the repositories of a source (poll, webhook or manual). */
export const SourceRefreshData = Type.Object({
  ref: Ref,
  reason: Type.Union([Type.Literal('poll'), Type.Literal('webhook'), Type.Literal('manual')]),
  url: Type.Optional(Type.String()),
});

const EntryError = Type.Object({ entry: Type.String(), reason: Type.String() });

export const SourceResultData = Type.Object({
  ref: Ref,
  origin: Type.Optional(Type.String()),
  uid: Type.Optional(Type.String()),
  generation: Type.Optional(Type.Integer()),
  profiles: Type.Integer(),
  versions: Type.Integer(),
  entryErrors: Type.Array(EntryError),
  message: Type.String(),
  ready: Type.Optional(Type.Boolean()),
  reason: Type.Optional(Type.String()),
  scannedRepositories: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
});

export const SourceRemovedData = Type.Object({ ref: Ref });

export const VersionData = Type.Object({
  catalog: Ref,
  profile: Type.String(),
  version: Type.String(),
  tag: Type.String(),
  revision: Type.Optional(Type.String()),
});

export const EVENT_DATA_SCHEMAS = {
  [EVENT_TYPES.sourceUpserted]: SourceUpsertedData,
  [EVENT_TYPES.sourceDeleted]: SourceDeletedData,
  [EVENT_TYPES.sourcesSnapshot]: SourcesSnapshotData,
  [EVENT_TYPES.sourceRefresh]: SourceRefreshData,
  [EVENT_TYPES.sourceIndexed]: SourceResultData,
  [EVENT_TYPES.sourceFailed]: SourceResultData,
  [EVENT_TYPES.sourceRemoved]: SourceRemovedData,
  [EVENT_TYPES.versionAdded]: VersionData,
  [EVENT_TYPES.versionRemoved]: VersionData,
  [EVENT_TYPES.versionMoved]: VersionData,
} as const satisfies Record<EventType, TSchema>;

type DataOf<T extends EventType> = Static<(typeof EVENT_DATA_SCHEMAS)[T]>;

export interface CloudEvent<T extends EventType = EventType> {
  specversion: '1.0';
  id: string;
  source: string;
  type: T;
  time: string;
  subject?: string;
  datacontenttype: 'application/json';
  data: DataOf<T>;
  /** CloudEvents distributed-tracing extension: the trace the event belongs to (see tracing.ts). */
  traceparent?: string;
  tracestate?: string;
}

export type SourceUpserted = DataOf<typeof EVENT_TYPES.sourceUpserted>;
export type SourceDeleted = DataOf<typeof EVENT_TYPES.sourceDeleted>;
export type SourcesSnapshot = DataOf<typeof EVENT_TYPES.sourcesSnapshot>;
export type SourceRefresh = DataOf<typeof EVENT_TYPES.sourceRefresh>;
export type SourceResult = DataOf<typeof EVENT_TYPES.sourceIndexed>;
export type VersionEventData = DataOf<typeof EVENT_TYPES.versionAdded>;

const Envelope = Type.Object({
  specversion: Type.Literal('1.0'),
  id: Type.String({ minLength: 1 }),
  source: Type.String({ minLength: 1 }),
  type: Type.String({ minLength: 1 }),
  time: Type.String(),
  subject: Type.Optional(Type.String()),
  datacontenttype: Type.Literal('application/json'),
  data: Type.Unknown(),
  traceparent: Type.Optional(Type.String()),
  tracestate: Type.Optional(Type.String()),
});

const envelopeCheck = TypeCompiler.Compile(Envelope);
const dataChecks = Object.fromEntries(
  Object.entries(EVENT_DATA_SCHEMAS).map(([t, s]) => [t, TypeCompiler.Compile(s)]),
) as unknown as Record<string, ReturnType<typeof TypeCompiler.Compile> | undefined>;

export function makeEvent<T extends EventType>(
  type: T,
  source: string,
  data: DataOf<T>,
  subject?: string,
): CloudEvent<T> {
  const ev: CloudEvent<T> = {
    specversion: '1.0',
    id: randomUUID(),
    source,
    type,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data,
  };
  if (subject !== undefined) ev.subject = subject;
  // Made inside a span (the indexer applying a change), the event carries that trace to whoever sends it on.
  Object.assign(ev, traceAttributes());
  assertEvent(ev);
  return ev;
}

function firstError(check: ReturnType<typeof TypeCompiler.Compile>, value: unknown): string {
  const e = check.Errors(value).First();
  return e ? `${e.path || '/'}: ${e.message}` : 'invalid';
}

/** Throws EVENT_INVALID naming the first bad field; returns the typed event otherwise. */
export function assertEvent(value: unknown): CloudEvent {
  if (!envelopeCheck.Check(value))
    throw new AppError('EVENT_INVALID', `bad CloudEvent envelope at ${firstError(envelopeCheck, value)}`);
  const ev = value as CloudEvent;
  const check = dataChecks[ev.type];
  if (!check) throw new AppError('EVENT_INVALID', `unknown event type ${JSON.stringify(ev.type)}`);
  if (!check.Check(ev.data))
    throw new AppError('EVENT_INVALID', `bad data for ${ev.type} at ${firstError(check, ev.data)}`);
  return ev;
}

export function encodeEvent(ev: CloudEvent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(ev));
}

export function decodeEvent(bytes: Uint8Array): CloudEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new AppError('EVENT_INVALID', 'event is not JSON', { cause: err });
  }
  return assertEvent(parsed);
}

export function isEventOf<T extends EventType>(ev: CloudEvent, type: T): ev is CloudEvent<T> {
  return ev.type === type;
}
