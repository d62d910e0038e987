import type { CatalogEntry } from './keys.ts';
import { compareVersionsDesc, isPrerelease } from './semver.ts';

/**
 * How text becomes search terms, shared by the indexer (writing) and the API (querying) so both always agree.
 */
export const FIELD_WEIGHTS = { name: 10, description: 3, maintainer: 2, prerequisites: 1 } as const;
export const TYPO_MIN_LENGTH = 5;
export const MAX_TERM_LENGTH = 40;

/** Lower-case words of letters and digits; a name like `weaveworks-nginx` also yields its parts. */
export function terms(text: string): string[] {
  const out = new Set<string>();
  for (const raw of text.toLowerCase().split(/[^a-z0-9.-]+/)) {
    const word = raw.replace(/^[.-]+|[.-]+$/g, '');
    if (!word) continue;
    if (word.length <= MAX_TERM_LENGTH) out.add(word);
    for (const part of word.split(/[.-]+/)) if (part && part.length <= MAX_TERM_LENGTH) out.add(part);
  }
  return [...out];
}

/** Characters terms are made of (see `terms`): the alphabet of one-edit typo candidates. */
export const TERM_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789-.';

/**
 * The strings of TYPO_MIN_LENGTH+ characters one edit away from `word` (deletion, insertion, substitution,
 * adjacent transposition) over TERM_ALPHABET, `word` itself excluded: every term a typo of `word` may stand
 * for. Both search engines look them up among the indexed terms (the mirror in its postings, Redis with one
 * ZMSCORE of `idx:terms`), so no index of variants is written: about 80 strings per letter of the word.
 */
export function oneEditStrings(word: string): string[] {
  const out = new Set<string>();
  const consider = (t: string) => {
    if (t !== word && t.length >= TYPO_MIN_LENGTH) out.add(t);
  };
  for (let i = 0; i <= word.length; i++) {
    const head = word.slice(0, i);
    const tail = word.slice(i);
    for (const c of TERM_ALPHABET) consider(head + c + tail);
    if (i < word.length) {
      consider(head + tail.slice(1));
      for (const c of TERM_ALPHABET) consider(head + c + tail.slice(1));
      if (i + 1 < word.length) consider(head + tail[1] + tail[0] + tail.slice(2));
    }
  }
  return [...out];
}

/**
 * Optimal string alignment distance, capped: true when `a` and `b` differ by at most one edit. The definition
 * `oneEditStrings` is checked against (its tests and the engines' typo tests).
 */
export function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  if (a.length === b.length) {
    const diff: number[] = [];
    for (let i = 0; i < a.length && diff.length <= 2; i++) if (a[i] !== b[i]) diff.push(i);
    if (diff.length === 1) return true; // substitution
    return (
      diff.length === 2 &&
      diff[1] === diff[0]! + 1 &&
      a[diff[0]!] === b[diff[1]!] &&
      a[diff[1]!] === b[diff[0]!]
    ); // transposition
  }
  const [s, l] = a.length < b.length ? [a, b] : [b, a];
  for (let i = 0; i < l.length; i++) if (l.slice(0, i) + l.slice(i + 1) === s) return true;
  return false;
}

/** What search knows of one profile in one catalog, derived from its versions (see searchDocument). */
export interface SearchDocument {
  /** Lower-cased name, for the exact-name bonus. */
  name: string;
  /** term -> weight of the heaviest field it appears in. */
  weights: Map<string, number>;
  /** [facet, value] pairs: catalog (ns/name), catalogName, maintainer, kind, channel (release/prerelease). */
  facets: [string, string][];
}

/** The facets search counts (catalogName is a filter only: the catalog facet already counts by namespace/name). */
export const SEARCH_FACETS = ['catalog', 'maintainer', 'kind', 'channel'] as const;

/**
 * A profile's search document: the text of its latest release (or latest version when it has only
 * pre-releases), weighted by field, and its facets. The indexer writes it to Redis and API replicas keep it in
 * memory; both derive it here so they cannot disagree.
 */
export function searchDocument(entries: readonly SearchEntry[]): SearchDocument | undefined {
  const sorted = [...entries].sort((a, b) => compareVersionsDesc(a.version, b.version));
  const latest = sorted.find((e) => !isPrerelease(e.version)) ?? sorted[0];
  if (!latest) return undefined;
  const weights = new Map<string, number>();
  const add = (text: string, weight: number) => {
    for (const t of terms(text)) weights.set(t, Math.max(weights.get(t) ?? 0, weight));
  };
  add(latest.name, FIELD_WEIGHTS.name);
  add(latest.description, FIELD_WEIGHTS.description);
  add(latest.maintainer, FIELD_WEIGHTS.maintainer);
  for (const p of latest.prerequisites) add(p, FIELD_WEIGHTS.prerequisites);
  const facets: [string, string][] = [
    ['catalog', `${latest.catalogNamespace}/${latest.catalogSource}`],
    ['catalogName', latest.catalogSource],
    ['maintainer', latest.maintainer.toLowerCase()],
  ];
  for (const kind of new Set((latest.artifacts ?? []).map((a) => a.kind))) facets.push(['kind', kind]);
  if (sorted.some((e) => !isPrerelease(e.version))) facets.push(['channel', 'release']);
  if (sorted.some((e) => isPrerelease(e.version))) facets.push(['channel', 'prerelease']);
  return { name: latest.name.toLowerCase(), weights, facets: facets.filter(([, v]) => v !== '') };
}

type SearchEntry = Pick<
  CatalogEntry,
  | 'name'
  | 'description'
  | 'maintainer'
  | 'prerequisites'
  | 'version'
  | 'catalogNamespace'
  | 'catalogSource'
  | 'artifacts'
>;
