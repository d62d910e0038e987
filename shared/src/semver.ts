import semver from 'semver';

/**
 * Profile versions are semver, written in tags as `<profile dir>/v1.2.3`, `v1.2.3` or `1.2.3`.
 * This module is the only place that knows that convention.
 */

// The pattern of the original CRD: an optional `dir/` prefix of letters and dashes, an optional `v`, semver.
const TAG_RE =
  /^(?:([a-zA-Z0-9._-]+(?:\/[a-zA-Z0-9._-]+)*)\/)?v?((?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)$/;

export interface ParsedTag {
  /** The directory part before the version (`weaveworks-nginx` in `weaveworks-nginx/v0.1.1`), or '' at the root. */
  dir: string;
  /** The canonical semver without `v` (`0.1.1`). */
  version: string;
}

export function parseTag(tag: string): ParsedTag | undefined {
  const m = TAG_RE.exec(tag.trim());
  if (!m) return undefined;
  const version = m[2] ?? '';
  // semver.valid drops build metadata; keep the text as written, but only when semver accepts it.
  if (!semver.valid(version)) return undefined;
  return { dir: m[1] ?? '', version };
}

/** Normalises a user-typed version (`v1.2.3`, `1.2.3`); undefined when it is not semver. */
export function normalizeVersion(input: string): string | undefined {
  const v = input.trim().replace(/^v(?=\d)/, '');
  return semver.valid(v) ? v : undefined;
}

/** Newest first; pre-releases sort below their release (semver precedence). */
export function compareVersionsDesc(a: string, b: string): number {
  return semver.rcompare(a, b);
}

export function isPrerelease(version: string): boolean {
  return semver.prerelease(version) !== null;
}

export function isGreater(a: string, b: string): boolean {
  return semver.gt(a, b);
}
