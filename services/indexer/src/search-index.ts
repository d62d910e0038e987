import { searchDocument, type CatalogEntry, type CatalogKeys, type SearchDocument } from '@profiles/shared';
import type { RedisCommand } from './redis-commands.ts';

/**
 * Keeps the search indexes of one profile (in one catalog) in step with its versions, inside the writer's
 * MULTI/EXEC, so a search never sees a half-indexed profile. A profile is indexed by its search document
 * (shared `searchDocument`: weighted terms of its latest version, facets) and by last change. Every key it is
 * added to is remembered, so re-indexing or removing it takes it out of exactly those keys. The additions to
 * the keys profiles share go through `SearchAdditions`. Returns the document (for the source's search
 * snapshot), undefined when the profile has none.
 */
export function indexProfile(
  out: RedisCommand[],
  keys: CatalogKeys,
  member: string,
  entries: CatalogEntry[],
  oldKeys: string[],
  now: number,
  shared: SearchAdditions,
): SearchDocument | undefined {
  unindexProfile(out, keys, member, oldKeys);
  const doc = searchDocument(entries);
  if (!doc) return undefined;
  const added: string[] = [];
  for (const [t, w] of doc.weights) added.push(shared.term(t, w, member));
  added.push(shared.member(keys.searchName(doc.name), member));
  for (const [facet, value] of doc.facets) {
    added.push(shared.member(keys.searchFacet(facet, value), member));
    shared.member(keys.searchFacetValues(facet), value);
  }
  added.push(shared.updated(now, member));
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
 * The additions of one plan to the search keys that profiles share (terms, names, facets, last change), and
 * the term list (`idx:terms`: prefix matches, and the terms typos are looked up among).
 *
 * Grouped (the default), each key gets one command for the whole plan, sent after everything else the plan
 * does to the search keys: a source of a thousand versions adds to about ten thousand of them, mostly the
 * same few thousand keys, and building a command per addition and joining them later cost the writer more
 * than anything else it plans. A term's key is built once per plan, found by the term. Sending the additions
 * last changes nothing a reader can see (one MULTI/EXEC), and nothing the plan removes comes after them: a
 * profile is either taken out of the indexes or indexed again, its removals first (`indexProfile`).
 *
 * Not grouped, each addition is a command where it is planned: the reference the grouped form is tested
 * against (the unbatched writer).
 *
 * The term list is shared by all profiles and only ever added to, never removed, since a stale entry only
 * costs a look-up that finds nothing (the API unions the term's own key, empty once no profile has it). Each
 * term once per plan, in one ZADD at the head of the catalog's transaction (a round trip of its own before it
 * cost every write one more).
 */
export class SearchAdditions {
  /** Each term's key, built once per plan; its keys are the plan's new terms, in order (the term list). */
  private readonly termKeys = new Map<string, string>();
  /** Grouped: each key's one command, built up as the plan adds to it. */
  private readonly byKey: Map<string, RedisCommand> | undefined;

  constructor(
    private readonly keys: CatalogKeys,
    /** Where additions go when they are not grouped. */
    private readonly out: RedisCommand[],
    grouped = true,
  ) {
    this.byKey = grouped ? new Map() : undefined;
  }

  /** Adds `member` to a term's key with its weight; returns the key. */
  term(term: string, weight: number, member: string): string {
    let key = this.termKeys.get(term);
    if (key === undefined) this.termKeys.set(term, (key = this.keys.searchTerm(term)));
    return this.add('zadd', key, weight, member);
  }

  /** Adds `member` to the set `key`; returns the key. */
  member(key: string, member: string): string {
    return this.add('sadd', key, member);
  }

  /** Sets `member`'s last change (ms); returns the key. */
  updated(at: number, member: string): string {
    return this.add('zadd', this.keys.searchUpdated(), at, member);
  }

  /** The term list's ZADD (the head of the transaction), or nothing when no term was added. */
  head(): RedisCommand[] {
    if (this.termKeys.size === 0) return [];
    const cmd: RedisCommand = ['zadd', this.keys.searchTerms()];
    for (const t of this.termKeys.keys()) cmd.push(0, t);
    return [cmd];
  }

  /** The grouped additions (none when not grouped: they are already in place). */
  commands(): RedisCommand[] {
    return this.byKey ? [...this.byKey.values()] : [];
  }

  /** One addition: a command of its own where it is planned, or joined to its key's command. */
  private add(name: 'zadd' | 'sadd', key: string, ...args: (string | number)[]): string {
    const known = this.byKey?.get(key);
    if (known) known.push(...args);
    else if (this.byKey) this.byKey.set(key, [name, key, ...args]);
    else this.out.push([name, key, ...args]);
    return key;
  }
}
