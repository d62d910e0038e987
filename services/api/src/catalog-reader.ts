import {
  AppError,
  isGreater,
  isPrerelease,
  normalizeVersion,
  parseProfileNameMember,
  parseSourceId,
  type CatalogEntry,
  type CatalogKeys,
  type Redis,
  type SourceRef,
} from '@profiles/shared';

/**
 * Reads the catalog the indexer maintains. Every answer comes from precomputed keys: a profile's versions are
 * stored already sorted newest first, so `latest` is one read.
 */
export class CatalogReader {
  constructor(
    private readonly redis: Redis,
    private readonly keys: CatalogKeys,
  ) {}

  /**
   * `{catalog}` in a URL is `namespace/name`, or a bare `name` when only one namespace has a source of that
   * name. Ambiguity is an error that lists the candidates.
   */
  async resolveCatalog(catalog: string): Promise<SourceRef> {
    const direct = parseSourceId(catalog);
    if (direct) {
      if (await this.redis.sismember(this.keys.sources(), catalog)) return direct;
      throw new AppError('CATALOG_NOT_FOUND', `catalog ${JSON.stringify(catalog)} not found`, {
        details: { catalog },
      });
    }
    const ids = (await this.redis.smembers(this.keys.sourceNames(catalog))).sort();
    if (ids.length === 0)
      throw new AppError('CATALOG_NOT_FOUND', `catalog ${JSON.stringify(catalog)} not found`, {
        details: { catalog },
      });
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

  /** All versions of a profile, newest first. */
  async versions(catalog: string, profile: string): Promise<CatalogEntry[]> {
    const ref = await this.resolveCatalog(catalog);
    const [order, all] = await Promise.all([
      this.redis.get(this.keys.profileOrder(ref, profile)),
      this.redis.hgetall(this.keys.profile(ref, profile)),
    ]);
    if (!order) {
      throw new AppError(
        'PROFILE_NOT_FOUND',
        `profile ${JSON.stringify(profile)} not found in catalog ${JSON.stringify(catalog)}`,
        {
          details: { catalog, profile },
        },
      );
    }
    return (JSON.parse(order) as string[]).flatMap((v) =>
      all[v] ? [JSON.parse(all[v]) as CatalogEntry] : [],
    );
  }

  /** One version; `latest` or semver with an optional `v`. */
  async version(catalog: string, profile: string, version: string): Promise<CatalogEntry> {
    const wanted = parseVersionParam(version);
    const list = await this.versions(catalog, profile);
    // `latest` is the newest release; a pre-release only when the profile has no release at all.
    const hit =
      wanted === 'latest'
        ? (list.find((e) => !isPrerelease(e.version)) ?? list[0])
        : list.find((e) => e.version === wanted);
    if (!hit) {
      throw new AppError(
        'VERSION_NOT_FOUND',
        `version ${JSON.stringify(version)} of profile ${JSON.stringify(profile)} not found in catalog ${JSON.stringify(catalog)}`,
        {
          details: { catalog, profile, version },
        },
      );
    }
    return hit;
  }

  /** Versions strictly greater than `version`, newest first. */
  async availableUpdates(catalog: string, profile: string, version: string): Promise<CatalogEntry[]> {
    const current = await this.version(catalog, profile, version);
    return (await this.versions(catalog, profile)).filter((e) => isGreater(e.version, current.version));
  }

  /**
   * Every version of every profile whose name contains `name` (case-insensitive; all when empty), ordered by
   * profile name, catalog, then version newest first.
   */
  async listByName(name: string): Promise<CatalogEntry[]> {
    const needle = name.toLowerCase();
    const members = await this.redis.zrange(this.keys.profileNames(), '0', '-1');
    const hits = members.map(parseProfileNameMember).filter((m) => m.profile.toLowerCase().includes(needle));
    if (hits.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const h of hits) {
      pipe.get(this.keys.profileOrder(h.sourceId, h.profile));
      pipe.hgetall(this.keys.profile(h.sourceId, h.profile));
    }
    const replies = (await pipe.exec()) ?? [];
    const out: CatalogEntry[] = [];
    for (let i = 0; i < hits.length; i++) {
      const [e1, order] = replies[2 * i] ?? [];
      const [e2, all] = replies[2 * i + 1] ?? [];
      if (e1 || e2) throw (e1 ?? e2) as Error;
      if (typeof order !== 'string') continue; // removed between the two reads
      const map = all as Record<string, string>;
      for (const v of JSON.parse(order) as string[]) if (map[v]) out.push(JSON.parse(map[v]) as CatalogEntry);
    }
    return out;
  }
}

export function parseVersionParam(version: string): string {
  if (version === 'latest') return 'latest';
  const v = normalizeVersion(version);
  if (!v) {
    throw new AppError(
      'INVALID_VERSION',
      `version ${JSON.stringify(version)} is not semver (expected e.g. 1.2.3, v1.2.3 or latest)`,
      {
        details: { version },
      },
    );
  }
  return v;
}
