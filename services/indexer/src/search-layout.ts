import { SEARCH_LAYOUT_VERSION, type CatalogKeys } from '@profiles/shared';
import type { Logger, Redis } from '@profiles/shared/runtime';

export interface SearchLayoutDeps {
  redis: Redis;
  keys: CatalogKeys;
  log: Logger;
}

/**
 * Brings a catalog written by an older indexer to the current search index layout before this one writes to
 * it. Layouts 1 and 2 kept a typo index (a set per one-deletion variant `idx:del:{variant}`, then one sorted
 * set `idx:typo`); layout 3 keeps none, since both engines look a word's one-edit strings up among the terms
 * (`idx:terms`, written by every layout), so the upgrade only deletes the old index: the answers are the same.
 * Idempotent (replicas starting together delete the same keys; the version is set last). An indexer of layout 2
 * still running during a rolling upgrade may write `idx:typo` again, so that one key is dropped at every start.
 * Returns how many keys were removed.
 */
export async function migrateSearchLayout(deps: SearchLayoutDeps): Promise<number> {
  const { redis, keys, log } = deps;
  // UNLINK: a large sorted set is freed off the main thread.
  let removed = await redis.unlink(keys.legacySearchTypos());
  if (Number((await redis.get(keys.searchLayout())) ?? 0) >= SEARCH_LAYOUT_VERSION) return removed;
  const t0 = Date.now();
  removed += await deleteMatching(redis, keys.legacySearchDeletionPattern());
  await redis.set(keys.searchLayout(), String(SEARCH_LAYOUT_VERSION));
  if (removed > 0)
    log.info(
      { removedKeys: removed, ms: Date.now() - t0 },
      `search index migrated to layout ${SEARCH_LAYOUT_VERSION}: ${removed} keys of the old typo index removed`,
    );
  return removed;
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
