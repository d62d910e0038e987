import { createHash } from 'node:crypto';
import type { SourceRef } from './catalog-source.ts';
import { normalizeRepoUrl } from './repo-url.ts';

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
  /**
   * The final status of each installation, written by the installer next to Redis: the last one per id is
   * kept (a week), so the API answers a finished install after Redis was wiped or failed over. Outside
   * `profiles.installs.>`: that stream is a work queue, and streams may not share subjects.
   */
  installStatus: {
    name: 'PROFILES_INSTALL_STATUS',
    subjects: ['profiles.install-status.>'],
    maxMsgsPerSubject: 1,
    maxAgeMs: 7 * 24 * 3600_000,
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
  /**
   * An install request, on its target repository's partition: `profiles.installs.requests.<pp>.<repo>`, where
   * `<repo>` is a digest of the normalized repository URL (no credentials, no dots) and `<pp>` its partition.
   */
  installRequest: (targetUrl: string) => {
    const repo = repositoryToken(targetUrl);
    return `profiles.installs.requests.${partitionToken(partitionOfToken(repo))}.${repo}`;
  },
  /** Where releases before partitioning published install requests; still consumed, so none is stranded. */
  installRequestUnpartitioned: 'profiles.installs.requests',
  /** An installation's final status (STREAMS.installStatus); ids are UUIDs, made safe as a token anyway. */
  installStatus: (id: string) => `profiles.install-status.${subjectToken(id)}`,
} as const;

/**
 * Install requests are partitioned by target repository, so that one installer replica at a time owns a
 * repository and pushes to it never race. The count is fixed here, for the API and the installer alike: a
 * request published on a partition nobody consumes would wait forever. More partitions than replicas lets
 * replicas share them evenly; each partition is a durable consumer.
 */
export const INSTALL_PARTITIONS = 16;

/** The digest naming a repository in install subjects and in the installer's per-repository queues. */
export function repositoryToken(targetUrl: string): string {
  return createHash('sha256').update(normalizeRepoUrl(targetUrl)).digest('hex').slice(0, 16);
}

function partitionOfToken(repo: string): number {
  return Number.parseInt(repo.slice(0, 8), 16) % INSTALL_PARTITIONS;
}

/** The partition (0 … INSTALL_PARTITIONS − 1) of a target repository. */
export function installPartition(targetUrl: string): number {
  return partitionOfToken(repositoryToken(targetUrl));
}

const partitionToken = (p: number) => String(p).padStart(2, '0');

/** A durable pull consumer: the CONSUMERS entries, and those made per partition. */
export interface ConsumerSpec {
  stream: string;
  durable: string;
  ackWaitMs: number;
  maxDeliver: number;
  filterSubject?: string;
  deliverNew?: boolean;
  /** Messages delivered and not yet acked at most (default 1000). */
  maxAckPending?: number;
}

/**
 * The installer's consumers: one per partition (filtered on its subjects, so they never overlap, as a work
 * queue requires), and one for requests published without a partition by older releases. The ack wait is short:
 * the runner keeps a message in progress while it is worked on; a crashed replica's is redelivered soon.
 * `max_ack_pending` bounds what one owner holds: every request of a partition in hand, queued per repository.
 */
export const INSTALL_CONSUMERS = {
  partition: (p: number): ConsumerSpec => ({
    stream: STREAMS.installs.name,
    durable: `installer-${partitionToken(p)}`,
    ackWaitMs: 10_000,
    maxDeliver: 10,
    filterSubject: `profiles.installs.requests.${partitionToken(p)}.*`,
    maxAckPending: 256,
  }),
  unpartitioned: {
    stream: STREAMS.installs.name,
    durable: 'installer-unpartitioned',
    ackWaitMs: 10_000,
    maxDeliver: 10,
    filterSubject: 'profiles.installs.requests',
    maxAckPending: 256,
  } satisfies ConsumerSpec,
  /** The single unfiltered consumer of older releases: it overlaps every partition, so it is deleted. */
  legacyDurable: 'installer',
} as const;

export const CONSUMERS = {
  /**
   * Short ack waits: the runner keeps a message in progress while it is worked on (`working()` every third of
   * the wait), so only a crashed replica's messages wait the whole ack wait before redelivery (measured under
   * load in test/faults-under-load.test.ts: 60 s here kept the catalog behind that long). The installer's
   * consumers, one per partition, are INSTALL_CONSUMERS.
   */
  indexer: { stream: STREAMS.sources.name, durable: 'indexer', ackWaitMs: 10_000, maxDeliver: 20 },
  /** The watcher's status writer (Kubernetes mode): indexing results, written back to each CR's status. */
  statusWriter: {
    stream: STREAMS.catalog.name,
    durable: 'status-writer',
    ackWaitMs: 10_000,
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
