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

/**
 * Parsed versions, by their text. Sorting a profile's versions compares each one many times, and every
 * comparison of two strings would parse both again; the same few versions recur across profiles too. Bounded:
 * emptied when full, as an invalid or one-off version must not grow it forever.
 */
const parsed = new Map<string, semver.SemVer | null>();
const MAX_PARSED = 10_000;

/** The parsed version, or null when it is not semver. */
function parse(version: string): semver.SemVer | null {
  let v = parsed.get(version);
  if (v === undefined) {
    v = semver.parse(version);
    if (parsed.size >= MAX_PARSED) parsed.clear();
    parsed.set(version, v);
  }
  return v;
}

/** Newest first; pre-releases sort below their release (semver precedence). */
export function compareVersionsDesc(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  // Not semver: semver's own comparison throws its error.
  return pa && pb ? pb.compare(pa) : semver.rcompare(a, b);
}

export function isPrerelease(version: string): boolean {
  return (parse(version)?.prerelease.length ?? 0) > 0;
}

export function isGreater(a: string, b: string): boolean {
  return semver.gt(a, b);
}
