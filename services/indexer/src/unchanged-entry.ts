import type { CatalogEntry } from '@profiles/shared';

function stripVolatile(json: string | undefined): string | undefined {
  if (json === undefined) return undefined;
  const { indexedAt: _ignored, ...rest } = JSON.parse(json) as CatalogEntry;
  return JSON.stringify(rest);
}

/**
 * The stored entry when `e` (JSON `json`) equals the stored one (JSON `before`) but for indexedAt; undefined
 * when it changed. Most entries of a replayed source are unchanged, so the common case is tried first without
 * parsing: `e` with the stored indexedAt, serialised, is the stored JSON itself (then `before` parses to that
 * very object). Otherwise both are compared without their indexedAt.
 */
export function unchangedEntry(e: CatalogEntry, json: string, before: string): CatalogEntry | undefined {
  const at = /"indexedAt":("[^"\\]*")/.exec(before);
  if (at) {
    const same = { ...e, indexedAt: JSON.parse(at[1]!) as string };
    if (JSON.stringify(same) === before) return same;
  }
  return stripVolatile(before) === stripVolatile(json) ? (JSON.parse(before) as CatalogEntry) : undefined;
}
