import { searchDocument, type CatalogEntry, type CatalogKeys, type SearchDocument } from '@profiles/shared';
import type { RedisCommand } from './redis-commands.ts';

/**
 * Keeps the search indexes of one profile (in one catalog) in step with its versions, inside the writer's
 * MULTI/EXEC, so a search never sees a half-indexed profile. A profile is indexed by its search document
 * (shared `searchDocument`: weighted terms of its latest version, facets) and by last change. Every key it is
 * added to is remembered, so re-indexing or removing it takes it out of exactly those keys. Returns the
 * document (for the source's search snapshot), undefined when the profile has none.
 */
export function indexProfile(
  out: RedisCommand[],
  keys: CatalogKeys,
  member: string,
  entries: CatalogEntry[],
  oldKeys: string[],
  now: number,
  terms: TermIndex,
): SearchDocument | undefined {
  unindexProfile(out, keys, member, oldKeys);
  const doc = searchDocument(entries);
  if (!doc) return undefined;
  const added: string[] = [];
  for (const [t, w] of doc.weights) {
    out.push(['zadd', keys.searchTerm(t), w, member]);
    added.push(keys.searchTerm(t));
    terms.add(t);
  }
  out.push(['sadd', keys.searchName(doc.name), member]);
  added.push(keys.searchName(doc.name));
  for (const [facet, value] of doc.facets) {
    out.push(['sadd', keys.searchFacet(facet, value), member]);
    out.push(['sadd', keys.searchFacetValues(facet), value]);
    added.push(keys.searchFacet(facet, value));
  }
  out.push(['zadd', keys.searchUpdated(), now, member]);
  added.push(keys.searchUpdated());
  out.push(['sadd', keys.searchMemberKeys(member), ...added]);
  return doc;
}

export function unindexProfile(
  out: RedisCommand[],
  keys: CatalogKeys,
  member: string,
  oldKeys: string[],
): void {
  for (const k of oldKeys) {
    // Sorted sets and sets both: ZREM on a set or SREM on a zset fails, so pick by the key's family.
    if (k.includes(':idx:term:') || k.endsWith(':idx:updated')) out.push(['zrem', k, member]);
    else out.push(['srem', k, member]);
  }
  // A member never indexed has no key list to delete (a rebuild from scratch then sends no DEL per profile).
  if (oldKeys.length > 0) out.push(['del', keys.searchMemberKeys(member)]);
}

/**
 * The term list (`idx:terms`: prefix matches, and the terms typos are looked up among): shared by all profiles
 * and only ever added to, never removed, since a stale entry only costs a look-up that finds nothing (the API
 * unions the term's own key, empty once no profile has it). Each term once per plan, in one ZADD at the head of
 * the catalog's transaction (a round trip of its own before it cost every write one more).
 */
export class TermIndex {
  private readonly listed: string[] = [];
  private readonly seen = new Set<string>();

  add(term: string): void {
    if (this.seen.has(term)) return;
    this.seen.add(term);
    this.listed.push(term);
  }

  commands(keys: CatalogKeys): RedisCommand[] {
    if (this.listed.length === 0) return [];
    return [['zadd', keys.searchTerms(), ...this.listed.flatMap((t) => [0, t])]];
  }
}
