/**
 * Mirror load on replica start, in one process against one catalog of SIZE versions (default 200,000) written
 * through the indexer's own writer: the API's MirrorLoader.reloadAll from the indexer's search snapshots beside
 * the same load profile by profile (every version's entry JSON, a search document derived from each: the way it
 * loaded before snapshots, and still loads a source without one), taking turns, ROUNDS times. Prints each load's
 * time and the heap it holds after a full GC, and the time projected to 1,000,000 versions (goal ≤ 15 s).
 *
 *   npm run bench:mirror        (SIZE=200000 ROUNDS=3)
 */
import { performance } from 'node:perf_hooks';
import { catalogKeys, type SnapshotProfile } from '@profiles/shared';
import { connectRedis, silentLogger } from '@profiles/shared/runtime';
import { startRedis } from '../scripts/lib/servers.ts';
import { CatalogReader } from '../services/api/src/catalog-reader.ts';
import { MirrorLoader } from '../services/api/src/mirror-loader.ts';
import { loadSyntheticCatalog } from './lib/synthetic-catalog.ts';

const SIZE = Number(process.env.SIZE ?? 200_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc (npm run bench:mirror does)');

/** The baseline: a real reader that ignores the snapshots, so every source is read profile by profile. */
class ProfileByProfileReader extends CatalogReader {
  override searchSnapshots(ids: readonly string[]): Promise<(SnapshotProfile[] | undefined)[]> {
    return Promise.resolve(ids.map(() => undefined));
  }
}

const server = await startRedis();
const redis = connectRedis(server.url, silentLogger(), 'bench', { autoPipelining: false });
try {
  const keys = catalogKeys('mirror:');
  const t0 = performance.now();
  const profiles = await loadSyntheticCatalog(redis, 'mirror:', SIZE);
  await redis.del(keys.outboxEntries());
  console.log(
    `${SIZE} versions (${profiles} profiles) written in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const heapMB = () => {
    gc();
    return process.memoryUsage().heapUsed / 1e6;
  };
  const timeLoad = async (reader: CatalogReader) => {
    const before = heapMB();
    const loader = new MirrorLoader(reader);
    const t = performance.now();
    await loader.reloadAll();
    const s = (performance.now() - t) / 1000;
    if (loader.size !== profiles) throw new Error(`mirror holds ${loader.size} profiles, not ${profiles}`);
    const held = heapMB() - before;
    return { s, held, loader };
  };
  const scale = 1_000_000 / SIZE;
  for (let round = 1; round <= ROUNDS; round++) {
    const old = await timeLoad(new ProfileByProfileReader(redis, keys));
    const snap = await timeLoad(new CatalogReader(redis, keys));
    console.log(
      `round ${round}: from snapshots ${snap.s.toFixed(2)} s (heap held ${snap.held.toFixed(0)} MB), ` +
        `profile by profile (baseline) ${old.s.toFixed(2)} s (heap held ${old.held.toFixed(0)} MB): ` +
        `${(old.s / snap.s).toFixed(1)}x faster; projected to 1M: ${(snap.s * scale).toFixed(1)} s vs ` +
        `${(old.s * scale).toFixed(1)} s (goal ≤ 15 s: ${snap.s * scale <= 15 ? 'met' : 'NOT met'})`,
    );
  }
} finally {
  redis.disconnect();
  await server.destroy();
}
