import {
  compareVersionsDesc,
  deletions,
  FIELD_WEIGHTS,
  isPrerelease,
  terms,
  TYPO_MIN_LENGTH,
  type CatalogEntry,
  type CatalogKeys,
} from '@profiles/shared';
import type { ChainableCommander } from 'ioredis';

/**
 * Keeps the search indexes of one profile (in one catalog) in step with its versions, inside the writer's
 * MULTI/EXEC, so a search never sees a half-indexed profile. A profile is indexed by its latest version's text
 * (name, description, maintainer, prerequisites: weighted), by facets (catalog, maintainer, artifact kind,
 * release/prerelease channel) and by last change. Every key it is added to is remembered, so re-indexing or
 * removing it takes it out of exactly those keys.
 */
export function indexProfile(
  tx: ChainableCommander,
  keys: CatalogKeys,
  member: string,
  entries: CatalogEntry[],
  oldKeys: string[],
  now: number,
): void {
  unindexProfile(tx, keys, member, oldKeys);
  const sorted = [...entries].sort((a, b) => compareVersionsDesc(a.version, b.version));
  const latest = sorted.find((e) => !isPrerelease(e.version)) ?? sorted[0];
  if (!latest) return;
  const added: string[] = [];
  const weights = new Map<string, number>();
  const add = (text: string, weight: number) => {
    for (const t of terms(text)) weights.set(t, Math.max(weights.get(t) ?? 0, weight));
  };
  add(latest.name, FIELD_WEIGHTS.name);
  add(latest.description, FIELD_WEIGHTS.description);
  add(latest.maintainer, FIELD_WEIGHTS.maintainer);
  for (const p of latest.prerequisites) add(p, FIELD_WEIGHTS.prerequisites);
  for (const [t, w] of weights) {
    tx.zadd(keys.searchTerm(t), w, member);
    added.push(keys.searchTerm(t));
    // Term lists and typo variants are shared by all profiles and never removed: a stale one only costs a
    // look-up that finds nothing.
    tx.zadd(keys.searchTerms(), 0, t);
    if (t.length >= TYPO_MIN_LENGTH) for (const v of [t, ...deletions(t)]) tx.sadd(keys.searchDeletion(v), t);
  }
  tx.sadd(keys.searchName(latest.name.toLowerCase()), member);
  added.push(keys.searchName(latest.name.toLowerCase()));
  const facets: [string, string][] = [
    ['catalog', `${latest.catalogNamespace}/${latest.catalogSource}`],
    ['catalogName', latest.catalogSource],
    ['maintainer', latest.maintainer.toLowerCase()],
  ];
  for (const kind of new Set((latest.artifacts ?? []).map((a) => a.kind))) facets.push(['kind', kind]);
  if (sorted.some((e) => !isPrerelease(e.version))) facets.push(['channel', 'release']);
  if (sorted.some((e) => isPrerelease(e.version))) facets.push(['channel', 'prerelease']);
  for (const [facet, value] of facets) {
    if (!value) continue;
    tx.sadd(keys.searchFacet(facet, value), member);
    tx.sadd(keys.searchFacetValues(facet), value);
    added.push(keys.searchFacet(facet, value));
  }
  tx.zadd(keys.searchUpdated(), now, member);
  added.push(keys.searchUpdated());
  tx.sadd(keys.searchMemberKeys(member), ...added);
}

export function unindexProfile(
  tx: ChainableCommander,
  keys: CatalogKeys,
  member: string,
  oldKeys: string[],
): void {
  for (const k of oldKeys) {
    // Sorted sets and sets both: ZREM on a set or SREM on a zset fails, so pick by the key's family.
    if (k.includes(':idx:term:') || k.endsWith(':idx:updated')) tx.zrem(k, member);
    else tx.srem(k, member);
  }
  tx.del(keys.searchMemberKeys(member));
}
