import {
  checkInlineEntry,
  type CatalogEntry,
  type CatalogSourceDocument,
  type SourceRef,
} from '@profiles/shared';

/**
 * Turns a ProfileCatalogSource into catalog entries. Inline `spec.profiles` are resolved here; each bad entry
 * becomes an entry error naming it, and the valid entries of the same source are still returned.
 */
export interface Resolution {
  entries: CatalogEntry[];
  entryErrors: { entry: string; reason: string }[];
}

export function resolveInline(ref: SourceRef, doc: CatalogSourceDocument, now: string): Resolution {
  const entries: CatalogEntry[] = [];
  const entryErrors: Resolution['entryErrors'] = [];
  const seen = new Map<string, number>();
  (doc.spec.profiles ?? []).forEach((raw, i) => {
    const label = describeEntry(raw, i);
    const r = checkInlineEntry(raw);
    if (!r.ok) {
      entryErrors.push({ entry: label, reason: r.reason });
      return;
    }
    const key = `${r.entry.name}@${r.entry.version}`;
    const first = seen.get(key);
    if (first !== undefined) {
      entryErrors.push({
        entry: label,
        reason: `duplicate of spec.profiles[${first}] (same name and version)`,
      });
      return;
    }
    seen.set(key, i);
    entries.push({
      tag: r.entry.tag,
      catalogSource: ref.name,
      url: r.entry.url,
      name: r.entry.name,
      description: r.entry.description,
      maintainer: r.entry.maintainer,
      prerequisites: r.entry.prerequisites,
      version: r.entry.version,
      catalogNamespace: ref.namespace,
      origin: 'inline',
      indexedAt: now,
    });
  });
  return { entries, entryErrors };
}

function describeEntry(raw: unknown, i: number): string {
  const e = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const name = typeof e.name === 'string' ? e.name : undefined;
  const tag = typeof e.tag === 'string' ? e.tag : undefined;
  const what = [name, tag].filter(Boolean).join(' ');
  return what ? `spec.profiles[${i}] (${what})` : `spec.profiles[${i}]`;
}
