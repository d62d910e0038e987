import type { SourceRef } from './catalog-source.ts';

/**
 * NATS subjects and JetStream streams/consumers: the wiring between services, defined once.
 *
 * Kubernetes names may contain dots, which NATS reads as token separators; they are written as `_`, which a
 * Kubernetes name can never hold, so the mapping is reversible.
 */
export function subjectToken(s: string): string {
  return s.replace(/\./g, '_').replace(/[\s*>]/g, '-');
}

export function tokenToName(t: string): string {
  return t.replace(/_/g, '.');
}

export const STREAMS = {
  /** Catalog-source changes from the watcher: the last event per source is kept, so a replay rebuilds state. */
  sources: {
    name: 'PROFILES_SOURCES',
    subjects: ['profiles.sources.>'],
    maxMsgsPerSubject: 1,
    duplicateWindowMs: 120_000,
  },
  /** What the indexer did: versions added/removed/moved, sources indexed/failed. Read by SSE subscribers. */
  catalog: {
    name: 'PROFILES_CATALOG',
    subjects: ['profiles.catalog.>'],
    maxAgeMs: 7 * 24 * 3600_000,
    maxMsgs: 1_000_000,
    duplicateWindowMs: 120_000,
  },
  /** Install requests: a work queue, each request is removed once an installer acks it. */
  installs: {
    name: 'PROFILES_INSTALLS',
    subjects: ['profiles.installs.>'],
    duplicateWindowMs: 120_000,
  },
} as const;

export const SUBJECTS = {
  source: (ref: SourceRef) => `profiles.sources.${subjectToken(ref.namespace)}.${subjectToken(ref.name)}`,
  /** Snapshots have their own subject: `_` can never be a namespace, so it never clashes with a source. */
  sourcesSnapshot: (origin: string) => `profiles.sources._snapshot.${subjectToken(origin)}`,
  /**
   * Refresh requests have a subject of their own: the stream keeps one message per subject, and a refresh on
   * the source's subject would evict its last upsert from the replay.
   */
  sourceRefresh: (ref: SourceRef) =>
    `profiles.sources._refresh.${subjectToken(ref.namespace)}.${subjectToken(ref.name)}`,
  catalogSource: (ref: SourceRef) =>
    `profiles.catalog.source.${subjectToken(ref.namespace)}.${subjectToken(ref.name)}`,
  catalogProfile: (ref: SourceRef, profile: string) =>
    `profiles.catalog.profile.${subjectToken(ref.namespace)}.${subjectToken(ref.name)}.${subjectToken(profile)}`,
  installRequest: 'profiles.installs.requests',
} as const;

export const CONSUMERS = {
  /**
   * Short ack waits: the runner keeps a message in progress while it is worked on (`working()` every third of
   * the wait), so only a crashed replica's messages wait the whole ack wait before redelivery (measured under
   * load in test/faults-under-load.test.ts: 60 s and 30 s here kept the catalog or installs behind that long).
   */
  indexer: { stream: STREAMS.sources.name, durable: 'indexer', ackWaitMs: 10_000, maxDeliver: 20 },
  installer: { stream: STREAMS.installs.name, durable: 'installer', ackWaitMs: 10_000, maxDeliver: 10 },
  /** The watcher's status writer (Kubernetes mode): indexing results, written back to each CR's status. */
  statusWriter: {
    stream: STREAMS.catalog.name,
    durable: 'status-writer',
    ackWaitMs: 30_000,
    maxDeliver: 20,
    filterSubject: 'profiles.catalog.source.>',
    deliverNew: true,
  },
} as const;

/** Core NATS request/reply subjects of the installer (answered by any one replica: a queue group). */
export const INSTALLER_SUBJECTS = {
  /** Request: `{url, branch, path, secretRef?}`; reply: `{items}` or `{error}` (see RepositoryScan). */
  scan: 'profiles.installer.scan',
  queueGroup: 'installer',
} as const;
