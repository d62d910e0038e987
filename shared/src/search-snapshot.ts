import type { SearchDocument } from './search-terms.ts';

/**
 * A source's search snapshot (`{p}idx:snapshot:{ns/name}`): for each of its profiles exactly what an API
 * replica's in-memory search needs (member, search document, last change, versions), written by the indexer in
 * the transaction that changes the source's catalog. A replica starting on a large catalog then reads one
 * string per source and parses it once, instead of every version of every profile and a search document
 * derived from each. Bump the format when searchDocument() or this layout changes: a replica reading a snapshot
 * of another format ignores it and reads the source's profiles (so an older indexer's snapshots are never
 * trusted by a newer API, nor the other way round).
 */
export const SEARCH_SNAPSHOT_FORMAT = 1;

export interface SnapshotProfile {
  member: string;
  doc: SearchDocument;
  /** ms since epoch, as in `idx:updated` */
  updated: number;
  /** newest first */
  versions: string[];
}

/** [member, name, [term, weight][], facets, updated, versions]: positional, since a large source has thousands. */
type Row = [string, string, [string, number][], [string, string][], number, string[]];

/** `listed`: how many profiles the source lists (`source-profiles`), those without a search document too. */
export function encodeSearchSnapshot(profiles: readonly SnapshotProfile[], listed: number): string {
  const rows: Row[] = profiles.map((p) => [
    p.member,
    p.doc.name,
    [...p.doc.weights],
    p.doc.facets,
    p.updated,
    p.versions,
  ]);
  return JSON.stringify({ v: SEARCH_SNAPSHOT_FORMAT, n: listed, rows });
}

/**
 * The profiles of a snapshot, or undefined when it cannot be trusted: missing, of another format, or not
 * listing `profileCount` profiles (the count of `source-profiles`, read beside it: a mismatch means the
 * snapshot was not written with the catalog it sits beside, so the caller reads the profiles instead).
 */
export function decodeSearchSnapshot(
  json: string | null | undefined,
  profileCount: number,
): SnapshotProfile[] | undefined {
  if (!json) return undefined;
  let parsed: { v?: unknown; n?: unknown; rows?: unknown };
  try {
    parsed = JSON.parse(json) as typeof parsed;
  } catch {
    return undefined;
  }
  if (parsed.v !== SEARCH_SNAPSHOT_FORMAT || !Array.isArray(parsed.rows)) return undefined;
  if (parsed.n !== profileCount) return undefined;
  return (parsed.rows as Row[]).map(([member, name, weights, facets, updated, versions]) => ({
    member,
    doc: { name, weights: new Map(weights), facets },
    updated,
    versions,
  }));
}
