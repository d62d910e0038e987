/**
 * The documents the API answers with beyond the original endpoints, defined once for the API (which builds
 * them) and its clients (the `profiles` CLI, which reads them).
 */
import type { Artifact } from './profile-definition.ts';
import type { CatalogEntry, ScannedRepository, SourceStatus } from './keys.ts';

/** One hit of `GET /v1/search`: a profile (its latest matching version), or every version with versions=all. */
export interface SearchHit {
  catalog: string;
  name: string;
  score: number;
  latest: CatalogEntry;
  versions?: CatalogEntry[];
}

/** `GET /v1/search`. */
export interface SearchResult {
  total: number;
  items: SearchHit[];
  /** Each facet's `facetLimit` most frequent values with their counts, most frequent first. */
  facets: Record<string, Record<string, number>>;
  /** How many values each facet has over the whole match. */
  facetTotals: Record<string, number>;
  nextCursor: string | null;
}

/** One nested profile reference of a catalog version, resolved through the catalog to any depth. */
export interface NestedProfileNode {
  artifact: string;
  source: { url: string; tag?: string; branch?: string; path?: string };
  /** where the reference resolved in the catalog, or why it did not */
  resolved: { catalog: string; profile: string; version: string } | null;
  note?: 'outside-catalog' | 'not-visible' | 'cycle' | 'depth-limit';
  children: NestedProfileNode[];
}

/** `GET /v1/catalogs/{catalog}/profiles/{profile}`: every version, newest first. */
export interface ProfileVersionsDoc {
  catalog: string;
  name: string;
  latest: string;
  versions: CatalogEntry[];
}

/** `GET /v1/catalogs/{catalog}/profiles/{profile}/versions/{version}`. */
export interface ProfileVersionDoc {
  item: CatalogEntry;
  artifacts: Artifact[];
  dependsOn: Record<string, string[]>;
  tree: NestedProfileNode[];
  freshness: { revision: string | null; indexedAt: string };
}

/** `GET /v1/catalogs/{catalog}/profiles/{profile}/updates`. */
export interface ProfileUpdatesDoc {
  from: string;
  items: { version: string; tag: string; change: string; item: CatalogEntry }[];
}

/** One catalog source of `GET /v1/sources` (and `{item}` of `GET /v1/sources/{namespace}/{name}`). */
export interface SourceView extends Pick<
  SourceStatus,
  'ready' | 'reason' | 'message' | 'profiles' | 'versions' | 'entryErrors'
> {
  namespace: string;
  name: string;
  origin: string;
  lastError: string | null | undefined;
  scannedRepositories: ScannedRepository[];
  observedGeneration: number | null;
  indexedAt: string | null;
}

/**
 * An RFC 9457 problem as the API answers errors (`application/problem+json`), with the error catalogue's
 * `code` and, when one input is to blame, the offending `parameter`. The original `/v1/profiles` endpoints
 * answer `{code, message, details}` instead.
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  parameter?: string;
  [extra: string]: unknown;
}
