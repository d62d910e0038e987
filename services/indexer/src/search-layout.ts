import { SEARCH_LAYOUT_VERSION, type CatalogKeys } from '@profiles/shared';
import type { Logger, Redis } from '@profiles/shared/runtime';
import { typoEntries } from './search-index.ts';

export interface SearchLayoutDeps {
  redis: Redis;
  keys: CatalogKeys;
  log: Logger;
}

// Terms per ZADD (about 8 members each): a command of that size is one a client sends in one call.
const CHUNK = 1_000;

/**
 * Brings a catalog written by an older indexer to the current search index layout before this one writes to
 * it: the API reads only the current layout, so an old typo index left as it was would silently find no typos.
 * Layout 1 kept the typo index as a set per variant (`idx:del:{variant}`); its content is exactly the one-
 * deletion variants of the listed terms (`idx:terms`, written beside it and never trimmed), so layout 2's
 * sorted set is rebuilt from that list and the old sets are deleted. Idempotent: replicas starting together
 * write the same members, and a migration cut short is redone on the next start (the version is set last).
 * Returns how many terms were migrated (0 when the catalog was already current).
 */
export async function migrateSearchLayout(deps: SearchLayoutDeps): Promise<number> {
  const { redis, keys, log } = deps;
  if (Number((await redis.get(keys.searchLayout())) ?? 0) >= SEARCH_LAYOUT_VERSION) return 0;
  const t0 = Date.now();
  let migrated = 0;
  for (let start = 0; ; start += CHUNK) {
    const terms = await redis.zrange(keys.searchTerms(), String(start), String(start + CHUNK - 1));
    const entries = typoEntries(terms);
    if (entries.length > 0) await redis.zadd(keys.searchTypos(), ...entries.map(String));
    migrated += terms.length;
    if (terms.length < CHUNK) break;
  }
  const removed = await deleteMatching(redis, keys.legacySearchDeletionPattern());
  await redis.set(keys.searchLayout(), String(SEARCH_LAYOUT_VERSION));
  if (migrated > 0 || removed > 0)
    log.info(
      { terms: migrated, removedKeys: removed, ms: Date.now() - t0 },
      `search index migrated to layout ${SEARCH_LAYOUT_VERSION}: ${migrated} terms, ${removed} old keys removed`,
    );
  return migrated;
}

async function deleteMatching(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let removed = 0;
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (found.length > 0) removed += await redis.unlink(...found);
  } while (cursor !== '0');
  return removed;
}
