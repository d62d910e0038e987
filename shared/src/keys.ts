import type { SourceRef } from './catalog-source.ts';
import type { Artifact } from './profile-definition.ts';

/**
 * The Redis key layout of the catalog, defined once. `p` is the configured prefix (REDIS_PREFIX).
 * Source ids are `namespace/name`; profile names never contain `/` or `|`.
 *
 *   {p}sources                       set    ids of all indexed sources
 *   {p}source:{ns/name}              hash   state of one source (SourceState, shared/src/source-state.ts)
 *   {p}source-names:{name}           set    ids of the sources called {name} (resolves a bare catalog name)
 *   {p}source-profiles:{ns/name}     set    profile names the source provides
 *   {p}profile:{ns/name}|{profile}   hash   version -> catalog entry JSON
 *   {p}profile-order:{ns/name}|{profile}  string  JSON list of versions, newest first
 *   {p}profile-names                 zset   `{profile} {ns/name}` members, score 0 (lexical order = name order)
 *   {p}generation                    string counter bumped by every catalog change (ETags)
 *   {p}generation (channel)          pub/sub: every bump announces the new generation (API caches)
 *   {p}outbox-entries                list   catalog events waiting to be published to NATS, one entry per write
 *   {p}outbox                        list   the same, one event per element, as indexers before 2026-12 wrote them
 *   {p}outbox-lock                   string lease of the replica draining the outbox
 *   {p}repo:{ns/name}|{url}          hash   tag -> scanned result JSON (RepoTagState) of one repository
 *   {p}repo-sources:{normalized url} set    ids of the sources that list the repository (webhooks)
 *   {p}poll-schedule                 zset   source id -> when its repositories are next rescanned (ms)
 *   {p}file-errors:{origin}          hash   `seq` and `errors` (JSON FileError[]) of the origin's last snapshot
 *   {p}file-error-origins            set    origins that have reported file errors
 *   {p}catalog-epoch                 string token of the last complete rebuild; missing = the catalog is not whole
 *   {p}catalog-rebuild-lock          string lease of the indexer replica rebuilding the catalog
 *   {p}idx:term:{term}               zset   profile member -> weight of the term in it (name 10, description 3, ...)
 *   {p}idx:terms                     zset   every indexed term, score 0 (prefixes by ZRANGE BYLEX)
 *   {p}idx:typo                      zset   `{variant} {term}` members, score 0: every term of 5+ letters under
 *                                           itself and each string one deletion away (ZRANGEBYLEX `[{variant} `)
 *   {p}idx:layout                    string version of the index layout (TYPO_INDEX_LAYOUT); older = migrate
 *   {p}idx:name:{name}               set    profile members whose name is exactly {name}
 *   {p}idx:facet:{facet}:{value}     set    profile members with that facet value (catalog, maintainer, kind, prerelease)
 *   {p}idx:facet-values:{facet}      set    values of a facet
 *   {p}idx:updated                   zset   profile member -> last change (ms)
 *   {p}idx:member-keys:{member}      set    every index key a profile member is in (to remove it cleanly)
 *   {p}idx:snapshot:{ns/name}        string the source's profiles as search needs them (search-snapshot.ts)
 *   {p}idx:result:{generation}:{h}   zset   a search's scored result, cached for 60 s (keyed by catalog generation)
 */
export function catalogKeys(p: string) {
  const id = (ref: SourceRef | string) => (typeof ref === 'string' ? ref : `${ref.namespace}/${ref.name}`);
  return {
    sources: () => `${p}sources`,
    source: (ref: SourceRef | string) => `${p}source:${id(ref)}`,
    sourceNames: (name: string) => `${p}source-names:${name}`,
    sourceProfiles: (ref: SourceRef | string) => `${p}source-profiles:${id(ref)}`,
    profile: (ref: SourceRef | string, profile: string) => `${p}profile:${id(ref)}|${profile}`,
    profileOrder: (ref: SourceRef | string, profile: string) => `${p}profile-order:${id(ref)}|${profile}`,
    profileNames: () => `${p}profile-names`,
    generation: () => `${p}generation`,
    /** A pub/sub channel, not a key: see bumpGeneration. */
    generationChannel: () => `${p}generation`,
    outboxEntries: () => `${p}outbox-entries`,
    /** Written by older indexers only; drained before `outboxEntries`. */
    outbox: () => `${p}outbox`,
    outboxLock: () => `${p}outbox-lock`,
    repo: (ref: SourceRef | string, url: string) => `${p}repo:${id(ref)}|${url}`,
    repoSources: (normalizedUrl: string) => `${p}repo-sources:${normalizedUrl}`,
    pollSchedule: () => `${p}poll-schedule`,
    fileErrors: (origin: string) => `${p}file-errors:${origin}`,
    fileErrorOrigins: () => `${p}file-error-origins`,
    catalogEpoch: () => `${p}catalog-epoch`,
    catalogRebuildLock: () => `${p}catalog-rebuild-lock`,
    catalogRebuildThrough: () => `${p}catalog-rebuild-through`,
    // Search indexes (see shared/src/search-terms.ts); a profile's member everywhere is `{profile} {ns/name}`.
    searchTerm: (term: string) => `${p}idx:term:${term}`,
    searchTerms: () => `${p}idx:terms`,
    searchLayout: () => `${p}idx:layout`,
    // The typo indexes of layouts 1 and 2, kept only so an upgrade can find and delete them: typos are now
    // looked up among `idx:terms` (shared `oneEditStrings`), so no index of variants is written.
    legacySearchDeletionPattern: () => `${p}idx:del:*`,
    legacySearchTypos: () => `${p}idx:typo`,
    searchName: (name: string) => `${p}idx:name:${name}`,
    searchFacet: (facet: string, value: string) => `${p}idx:facet:${facet}:${value}`,
    searchFacetValues: (facet: string) => `${p}idx:facet-values:${facet}`,
    searchUpdated: () => `${p}idx:updated`,
    searchMemberKeys: (member: string) => `${p}idx:member-keys:${member}`,
    searchSnapshot: (ref: SourceRef | string) => `${p}idx:snapshot:${id(ref)}`,
    searchResult: (generation: string, hash: string) => `${p}idx:result:${generation}:${hash}`,
  };
}

export type CatalogKeys = ReturnType<typeof catalogKeys>;

/**
 * Member of `{p}profile-names` and of the search indexes: `{profile} {ns/name}`. The space sorts below every
 * character a profile name may hold, so lexical order is name order, then catalog.
 */
export function profileNameMember(profile: string, ref: SourceRef | string): string {
  return `${profile} ${typeof ref === 'string' ? ref : `${ref.namespace}/${ref.name}`}`;
}

export function parseProfileNameMember(m: string): { profile: string; sourceId: string } {
  const i = m.indexOf(' ');
  return { profile: m.slice(0, i), sourceId: m.slice(i + 1) };
}

/** One version of one profile in one catalog, as stored and as served (original field names first). */
export interface CatalogEntry {
  tag: string;
  catalogSource: string;
  url: string;
  name: string;
  description: string;
  maintainer: string;
  prerequisites: string[];
  version: string;
  catalogNamespace: string;
  /** Where the entry came from: `inline` (spec.profiles) or a repository URL. */
  origin: string;
  indexedAt: string;
  revision?: string;
  artifacts?: Artifact[];
}

/** What a scan learned about one tag of a repository: the entry, or why the tag is not indexed. */
export interface RepoTagState {
  commit: string;
  entry?: CatalogEntry;
  error?: string;
}

export interface ScannedRepository {
  url: string;
  tags: string[];
  /** Set when the last scan failed; the versions of the last good scan are still served. */
  error?: string;
  tagErrors?: { tag: string; reason: string }[];
  scannedAt?: string;
}

export interface SourceStatus {
  ready: boolean;
  reason: string;
  message: string;
  profiles: number;
  versions: number;
  entryErrors: { entry: string; reason: string }[];
  observedGeneration?: number;
  scannedRepositories?: ScannedRepository[];
}

/**
 * Keys of installation requests (`{p}` as above):
 *
 *   {p}installation:{id}             string JSON InstallationDoc (the status the API serves)
 *   {p}installation-request:{id}     string JSON InstallRequest (persisted before it is published)
 *   {p}installation-idem:{key}       string JSON {id, digest}: installation and request digest of a key
 *   {p}installation-unpublished      zset   ids not yet stored by JetStream, score = time of the request
 *   {p}installation-lease:{id}       string installer replica working on the id (short lease)
 *   {p}installer-partition:{n}       string installer replica consuming install partition n (short lease)
 *   {p}installer-members             zset   live installer replicas, score = time of their last heartbeat
 */
export function installationKeys(p: string) {
  return {
    doc: (id: string) => `${p}installation:${id}`,
    request: (id: string) => `${p}installation-request:${id}`,
    idempotency: (key: string) => `${p}installation-idem:${key}`,
    unpublished: () => `${p}installation-unpublished`,
    lease: (id: string) => `${p}installation-lease:${id}`,
    partitionLease: (n: number) => `${p}installer-partition:${n}`,
    installerMembers: () => `${p}installer-members`,
  };
}

export type InstallationKeys = ReturnType<typeof installationKeys>;

/**
 * Version of the search index layout, stored in `{p}idx:layout`. 3: no typo index (typos are looked up among
 * `idx:terms`); an older catalog (1: sets `idx:del:{variant}`, 2: the sorted set `idx:typo`) has its typo index
 * deleted by the indexer on start.
 */
export const SEARCH_LAYOUT_VERSION = 3;
