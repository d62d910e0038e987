/** A synthetic catalog for benches, written through the indexer's own CatalogWriter (the real indexes). */
import { catalogKeys, type CatalogEntry } from '@profiles/shared';
import { silentLogger, type Redis } from '@profiles/shared/runtime';
import { CatalogWriter } from '../../services/indexer/src/catalog-writer.ts';
import { generateCatalog } from '../../test/fixtures/catalog-generator.ts';

/**
 * Loads a catalog of `size` versions under its own prefix, in catalogs of 1,000 versions (the same projects in
 * each, with the catalog number in their names); returns the number of profiles.
 */
export async function loadSyntheticCatalog(redis: Redis, prefix: string, size: number): Promise<number> {
  let profileCount = 0;
  const writer = new CatalogWriter({ redis, keys: catalogKeys(prefix), log: silentLogger() });
  for (let n = 0; n * 1000 < size; n++) {
    const ref = { namespace: 'bench', name: `catalog-${n}` };
    const profiles = generateCatalog(340).map((p) => ({ ...p, name: `${p.name}-${n}` }));
    const entries: CatalogEntry[] = [];
    for (const p of profiles) {
      for (const v of p.versions.slice(0, 3)) {
        if (entries.length >= 1000) break;
        entries.push({
          tag: `${p.name}/v${v}`,
          catalogSource: ref.name,
          url: '',
          name: p.name,
          description: p.description,
          maintainer: p.maintainer,
          prerequisites: p.prerequisites,
          version: v,
          catalogNamespace: ref.namespace,
          origin: 'inline',
          indexedAt: new Date().toISOString(),
        });
      }
    }
    profileCount += new Set(entries.map((e) => e.name)).size;
    await writer.upsert({
      ref,
      seq: n + 1,
      origin: 'bench',
      specHash: String(n),
      entries,
      status: {
        ready: true,
        reason: 'Indexed',
        message: '',
        profiles: profiles.length,
        versions: entries.length,
        entryErrors: [],
      },
    });
  }
  return profileCount;
}
