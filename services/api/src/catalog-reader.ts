import {
  AppError,
  decodeSearchSnapshot,
  isGreater,
  normalizeRepoUrl,
  parseProfileNameMember,
  parseSourceId,
  parseTag,
  profileNameMember,
  readSourceState,
  sourceStateOf,
  sourceRepos,
  type CatalogEntry,
  type CatalogKeys,
  type FileError,
  type RepoTagState,
  type SnapshotProfile,
  type SourceAccess,
  type SourceRef,
  type SourceStatus,
} from '@profiles/shared';
import type { Redis } from '@profiles/shared/runtime';
import { EVERYTHING, type Audience } from './auth/audience.ts';
import { decodeVersions, parseVersionParam, pickVersion } from './catalog-versions.ts';

/** A profile of one catalog, named as the indexes name it. */
export interface ProfileRef {
  profile: string;
  sourceId: string;
}

/** What the API shows of a catalog source (its `{p}source:{id}` hash, decoded). */
export interface SourceRecord {
  id: string;
  origin: string;
  status: Partial<SourceStatus>;
  indexedAt: string | null;
  /** Repository URLs the source lists, as written in it. */
  repos: string[];
}

/** Where a repository's tag resolves in the catalog: its entry, hidden (only in sources not visible), or nowhere. */
export type RepoTagLookup = { entry: CatalogEntry } | { hidden: true } | undefined;

/** The catalog's sources as held in the process (see Visibility.known). */
export interface KnownSources {
  has(id: string): boolean;
  /** Ids (`namespace/name`) of the sources named `name`, in any namespace. */
  named(name: string): readonly string[];
  /**
   * Every announced change applied: the answers are Redis's. Otherwise one is being applied, and the answers
   * are only a guess, to be confirmed by Redis in the round trip that reads what they name.
   */
  inStep: boolean;
}

/**
 * Reads the catalog the indexer maintains, and is the only code in the API that knows its keys (the Redis
 * search engine knows the search indexes' keys, nothing else). Every answer comes from precomputed keys: a
 * profile's versions are stored already sorted newest first, so `latest` is one read.
 *
 * It is also where visibility is enforced: `forAudience` gives the reader of one audience (the sources a
 * request may see, see auth/), and every read of it answers as if the other sources did not exist: a hidden
 * catalog or profile is CATALOG_NOT_FOUND / PROFILE_NOT_FOUND like a missing one, lists leave it out.
 */
export class CatalogReader {
  constructor(
    private readonly redis: Redis,
    private readonly keys: CatalogKeys,
    readonly audience: Audience = EVERYTHING,
    /**
     * Which sources exist, as a follower of the catalog holds them (undefined: Redis is asked). In step with
     * every announced change, a catalog named in a URL is resolved without a round trip; otherwise in the
     * round trip that reads the profile (`versions`).
     */
    private readonly known: () => KnownSources | undefined = () => undefined,
  ) {}

  private readonly scoped = new WeakMap<Audience, CatalogReader>();

  /** The same catalog, as `audience` may see it (one reader per audience, made once). */
  forAudience(audience: Audience): CatalogReader {
    let r = this.scoped.get(audience);
    if (!r) this.scoped.set(audience, (r = new CatalogReader(this.redis, this.keys, audience, this.known)));
    return r;
  }

  /** Whether this reader's audience sees the source. */
  sees(sourceId: string): boolean {
    return this.audience.sees(sourceId);
  }

  /** `spec.access` of the sources (all, or those named; `null`: none given), as the indexer stored it. */
  async sourceAccess(ids?: readonly string[]): Promise<Map<string, SourceAccess | null>> {
    const wanted = ids ?? (await this.redis.smembers(this.keys.sources()));
    const out = new Map<string, SourceAccess | null>();
    if (wanted.length === 0) return out;
    const pipe = this.redis.pipeline();
    for (const id of wanted) {
      pipe.sismember(this.keys.sources(), id);
      pipe.hmget(this.keys.source(id), 'access');
    }
    const replies = (await pipe.exec()) ?? [];
    wanted.forEach((id, i) => {
      const [e1, member] = replies[2 * i] ?? [];
      const [e2, raw] = replies[2 * i + 1] ?? [];
      if (e1 || e2) throw (e1 ?? e2) as Error;
      if (member !== 1) return;
      const { access } = sourceStateOf(['access'], raw as (string | null)[]);
      out.set(id, access ? (JSON.parse(access) as SourceAccess | null) : null);
    });
    return out;
  }

  /** The catalog generation (bumped by every change), as stored. */
  async generation(): Promise<string> {
    return (await this.redis.get(this.keys.generation())) ?? '0';
  }

  /** The pub/sub channel every change is announced on (shared `bumpGeneration`). */
  generationChannel(): string {
    return this.keys.generationChannel();
  }

  /** Ids (`namespace/name`) of every indexed source, sorted. */
  async sourceIds(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.sources())).filter((id) => this.sees(id)).sort();
  }

  /** Files of watched folders that yield no source, as the watchers' last snapshots reported them. */
  async fileErrors(): Promise<({ origin: string } & FileError)[]> {
    const origins = (await this.redis.smembers(this.keys.fileErrorOrigins())).sort();
    const lists = await Promise.all(origins.map((o) => this.redis.hget(this.keys.fileErrors(o), 'errors')));
    return origins.flatMap((origin, i) =>
      (JSON.parse(lists[i] ?? '[]') as FileError[]).map((e) => ({ origin, ...e })),
    );
  }

  async hasSource(id: string): Promise<boolean> {
    if (!this.sees(id)) return false;
    const known = this.known();
    if (known?.inStep) return known.has(id);
    return (await this.redis.sismember(this.keys.sources(), id)) === 1;
  }

  /** One source's stored state (empty fields for a source not indexed or not visible). */
  async source(id: string): Promise<SourceRecord> {
    const h = this.sees(id)
      ? await readSourceState(this.redis, this.keys, id, ['origin', 'status', 'indexedAt', 'repos'])
      : {};
    return {
      id,
      origin: h.origin ?? '',
      status: JSON.parse(h.status || '{}') as Partial<SourceStatus>,
      indexedAt: h.indexedAt ?? null,
      repos: sourceRepos(h),
    };
  }

  /** Visible sources that list a repository (any spelling of its URL). */
  async sourcesOfRepo(url: string): Promise<string[]> {
    return (await this.allSourcesOfRepo(url)).filter((id) => this.sees(id));
  }

  private async allSourcesOfRepo(url: string): Promise<string[]> {
    return (await this.redis.smembers(this.keys.repoSources(normalizeRepoUrl(url)))).sort();
  }

  /**
   * `{catalog}` in a URL is `namespace/name`, or a bare `name` when only one namespace has a source of that
   * name. Ambiguity is an error that lists the candidates.
   */
  async resolveCatalog(catalog: string): Promise<SourceRef> {
    const notFound = () =>
      new AppError('CATALOG_NOT_FOUND', `catalog ${JSON.stringify(catalog)} not found`, {
        details: { catalog },
      });
    const direct = parseSourceId(catalog);
    if (direct) {
      if (await this.hasSource(catalog)) return direct;
      throw notFound();
    }
    const known = this.known();
    const ids = this.visibleSorted(
      known?.inStep ? known.named(catalog) : await this.redis.smembers(this.keys.sourceNames(catalog)),
    );
    if (ids.length === 0) throw notFound();
    if (ids.length > 1) {
      throw new AppError(
        'CATALOG_AMBIGUOUS',
        `catalog name ${JSON.stringify(catalog)} exists in several namespaces; use one of ${ids.join(', ')}`,
        {
          details: { catalog, candidates: ids },
        },
      );
    }
    return parseSourceId(ids[0]!)!;
  }

  private visibleSorted(ids: readonly string[]): string[] {
    return ids.filter((id) => this.sees(id)).sort();
  }

  /**
   * The source a URL's `{catalog}` names by the copy held while a change is being applied (one visible source,
   * or none), and the command that confirms it in Redis: SISMEMBER of an id, SMEMBERS of a bare name.
   */
  private guessCatalog(catalog: string): { id: string; confirm: (reply: unknown) => boolean } | undefined {
    const known = this.known();
    if (!known || known.inStep) return undefined;
    const direct = parseSourceId(catalog);
    if (direct)
      return this.sees(catalog) && known.has(catalog) ? { id: catalog, confirm: (r) => r === 1 } : undefined;
    const ids = this.visibleSorted(known.named(catalog));
    if (ids.length !== 1) return undefined;
    const id = ids[0]!;
    return { id, confirm: (r) => JSON.stringify(this.visibleSorted(r as string[])) === JSON.stringify(ids) };
  }

  /**
   * One profile's versions in one round trip while the held copy of the sources is behind an announcement:
   * the catalog it names is read together with what confirms the guess; undefined when it is not confirmed
   * (the source came, went or got a namesake meanwhile), and the catalog is resolved first.
   */
  private async guessedVersions(
    catalog: string,
    profile: string,
  ): Promise<CatalogEntry[] | null | undefined> {
    const guess = this.guessCatalog(catalog);
    if (!guess) return undefined;
    const pipe = this.redis.pipeline();
    if (parseSourceId(catalog)) pipe.sismember(this.keys.sources(), guess.id);
    else pipe.smembers(this.keys.sourceNames(catalog));
    pipe.get(this.keys.profileOrder(guess.id, profile)).hgetall(this.keys.profile(guess.id, profile));
    const replies = (await pipe.exec()) ?? [];
    const [confirmation, order, all] = replies.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
    if (!guess.confirm(confirmation)) return undefined;
    return typeof order === 'string' ? decodeVersions(order, all as Record<string, string>) : null;
  }

  /**
   * The versions of many profiles, newest first, in one round trip (the "version order, then the versions"
   * read, written once): undefined for a profile that is not (or no longer) in the catalog.
   */
  async entriesOf(all: readonly ProfileRef[]): Promise<(CatalogEntry[] | undefined)[]> {
    const refs = all.filter((r) => this.sees(r.sourceId));
    if (refs.length < all.length) {
      const seen = await this.entriesOf(refs);
      let i = 0;
      return all.map((r) => (this.sees(r.sourceId) ? seen[i++] : undefined));
    }
    if (refs.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const r of refs) {
      pipe.get(this.keys.profileOrder(r.sourceId, r.profile));
      pipe.hgetall(this.keys.profile(r.sourceId, r.profile));
    }
    const replies = (await pipe.exec()) ?? [];
    return refs.map((_, i) => {
      const [e1, order] = replies[2 * i] ?? [];
      const [e2, all] = replies[2 * i + 1] ?? [];
      if (e1 || e2) throw (e1 ?? e2) as Error;
      if (typeof order !== 'string') return undefined; // removed between the reads that named it and this one
      return decodeVersions(order, all as Record<string, string>);
    });
  }

  /** The version numbers of many profiles, newest first (empty for one no longer in the catalog). */
  async versionOrders(refs: readonly ProfileRef[]): Promise<string[][]> {
    const pipe = this.redis.pipeline();
    for (const r of refs) pipe.get(this.keys.profileOrder(r.sourceId, r.profile));
    const replies = (await pipe.exec()) ?? [];
    return refs.map((r, i) =>
      this.sees(r.sourceId) ? (JSON.parse((replies[i]?.[1] as string | null) ?? '[]') as string[]) : [],
    );
  }

  /** Every profile of one source with its versions and last change (ms), for the in-memory search. */
  async sourceProfiles(
    sourceId: string,
  ): Promise<{ member: string; entries: CatalogEntry[]; updated: number }[]> {
    const profiles = await this.redis.smembers(this.keys.sourceProfiles(sourceId));
    if (profiles.length === 0) return [];
    const refs = profiles.map((profile) => ({ profile, sourceId }));
    const members = refs.map((r) => profileNameMember(r.profile, sourceId));
    const [entries, updated] = await Promise.all([
      this.entriesOf(refs),
      this.redis.zmscore(this.keys.searchUpdated(), ...members),
    ]);
    return members.flatMap((member, i) => {
      const e = entries[i];
      // Removed since SMEMBERS: the next announcement reloads the source again.
      return e ? [{ member, entries: e, updated: Number(updated[i] ?? 0) }] : [];
    });
  }

  /**
   * The search snapshots of sources (`search-snapshot.ts`), one pipelined round trip: undefined for a source
   * without a trustworthy one (none yet, another format, not beside its catalog), which is then read profile by
   * profile (`sourceProfiles`).
   */
  async searchSnapshots(ids: readonly string[]): Promise<(SnapshotProfile[] | undefined)[]> {
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.get(this.keys.searchSnapshot(id)).scard(this.keys.sourceProfiles(id));
    const replies = ids.length > 0 ? ((await pipe.exec()) ?? []) : [];
    return ids.map((id, i) => {
      const [e1, json] = replies[2 * i] ?? [];
      const [e2, count] = replies[2 * i + 1] ?? [];
      if (e1 || e2) throw (e1 ?? e2) as Error;
      if (!this.sees(id)) return [];
      return decodeSearchSnapshot(json as string | null, Number(count));
    });
  }

  /** All versions of a profile, newest first. */
  async versions(catalog: string, profile: string): Promise<CatalogEntry[]> {
    let entries = await this.guessedVersions(catalog, profile);
    if (entries === undefined) {
      const ref = await this.resolveCatalog(catalog);
      [entries] = await this.entriesOf([{ profile, sourceId: `${ref.namespace}/${ref.name}` }]);
    }
    if (!entries) {
      throw new AppError(
        'PROFILE_NOT_FOUND',
        `profile ${JSON.stringify(profile)} not found in catalog ${JSON.stringify(catalog)}`,
        {
          details: { catalog, profile },
        },
      );
    }
    return entries;
  }

  /** One version; `latest` or semver with an optional `v`. */
  async version(catalog: string, profile: string, version: string): Promise<CatalogEntry> {
    const wanted = parseVersionParam(version);
    return pickVersion(await this.versions(catalog, profile), wanted, { catalog, profile, version });
  }

  /** Versions strictly greater than `version`, newest first. */
  async availableUpdates(catalog: string, profile: string, version: string): Promise<CatalogEntry[]> {
    const wanted = parseVersionParam(version);
    const list = await this.versions(catalog, profile);
    const current = pickVersion(list, wanted, { catalog, profile, version });
    return list.filter((e) => isGreater(e.version, current.version));
  }

  /**
   * Every version of every profile whose name contains `name` (case-insensitive; all when empty), ordered by
   * profile name, catalog, then version newest first.
   */
  async listByName(name: string): Promise<CatalogEntry[]> {
    const needle = name.toLowerCase();
    const members = await this.redis.zrange(this.keys.profileNames(), '0', '-1');
    const hits = members.map(parseProfileNameMember).filter((m) => m.profile.toLowerCase().includes(needle));
    return (await this.entriesOf(hits)).flatMap((e) => e ?? []);
  }

  /**
   * The catalog entry a repository's tag was indexed as, by the first visible source (by id) that lists it;
   * `hidden` when only sources this audience does not see have it (never their entry).
   */
  async findByRepoTag(url: string, tag: string): Promise<RepoTagLookup> {
    if (!parseTag(tag)) return undefined;
    let hidden = false;
    for (const id of await this.allSourcesOfRepo(url)) {
      const { repos } = await readSourceState(this.redis, this.keys, id, ['repos']);
      const listed = (JSON.parse(repos || '[]') as string[]).find(
        (r) => normalizeRepoUrl(r) === normalizeRepoUrl(url),
      );
      const raw = await this.redis.hget(this.keys.repo(id, listed ?? url), tag);
      if (raw) {
        const st = JSON.parse(raw) as RepoTagState;
        if (st.entry && !this.sees(id)) hidden = true;
        else if (st.entry) return { entry: st.entry };
      }
    }
    return hidden ? { hidden: true } : undefined;
  }
}
