import { AppError, isPrerelease, normalizeVersion, type CatalogEntry } from '@profiles/shared';

/** A profile's versions as stored: the order (newest first, JSON) and each version's entry JSON. */
export function decodeVersions(order: string, all: Record<string, string>): CatalogEntry[] {
  return (JSON.parse(order) as string[]).flatMap((v) => (all[v] ? [JSON.parse(all[v]) as CatalogEntry] : []));
}

/** A `{version}` of a URL: `latest`, or semver with an optional `v` (normalised); INVALID_VERSION otherwise. */
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

/**
 * The version `wanted` (parsed by parseVersionParam) of a profile's versions, newest first: `latest` is the
 * newest release, a pre-release only when the profile has no release at all. VERSION_NOT_FOUND names what the
 * URL asked for.
 */
export function pickVersion(
  list: CatalogEntry[],
  wanted: string,
  asked: { catalog: string; profile: string; version: string },
): CatalogEntry {
  const hit =
    wanted === 'latest'
      ? (list.find((e) => !isPrerelease(e.version)) ?? list[0])
      : list.find((e) => e.version === wanted);
  if (!hit) {
    const { catalog, profile, version } = asked;
    throw new AppError(
      'VERSION_NOT_FOUND',
      `version ${JSON.stringify(version)} of profile ${JSON.stringify(profile)} not found in catalog ${JSON.stringify(catalog)}`,
      { details: { catalog, profile, version } },
    );
  }
  return hit;
}
