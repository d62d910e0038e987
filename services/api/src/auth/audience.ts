import { createHash } from 'node:crypto';

/**
 * The set of catalog sources a request may see. Answers are computed and cached per audience, never per user:
 * everyone who sees the same sources shares pages, ETags and search results; no two audiences share one.
 */
export interface Audience {
  /** Names the set: `all` (an open API: every source, present and future), or a digest of the sorted ids. */
  readonly key: string;
  /** Every source, whatever exists (nothing to filter). */
  readonly all: boolean;
  /** The visible source ids, sorted (empty when `all`). */
  readonly ids: readonly string[];
  sees(sourceId: string): boolean;
}

/** The audience of an open API (AUTH_ANONYMOUS=open, and internal reads such as the search mirror's loader). */
export const EVERYTHING: Audience = { key: 'all', all: true, ids: [], sees: () => true };

/** The audience that sees exactly `visible`. */
export function audienceOf(visible: Iterable<string>): Audience {
  const ids = [...visible].sort();
  const set = new Set(ids);
  const key = createHash('sha256').update(ids.join('\n')).digest('base64url').slice(0, 16);
  return { key, all: false, ids, sees: (id) => set.has(id) };
}
