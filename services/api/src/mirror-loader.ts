import { searchDocument, type SnapshotProfile } from '@profiles/shared';
import type { CatalogFollower } from './catalog-generation.ts';
import type { CatalogReader } from './catalog-reader.ts';
import { SearchIndex } from './search-index.ts';

/** Sources whose snapshots one round trip reads: large enough to hide latency, small enough to keep few in memory. */
const SNAPSHOT_BATCH = 64;

/**
 * Keeps the replica's in-memory search index: loaded from the catalog (`reloadAll`) and kept current source by
 * source (`reloadSource`) by CatalogGeneration, which announces a generation only once the index reflects it.
 * It holds a copy, never state of its own; everything is read through the CatalogReader, each source from the
 * search snapshot the indexer keeps beside its catalog when there is one.
 */
export class MirrorLoader implements CatalogFollower {
  private current: SearchIndex | undefined;
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly reader: CatalogReader) {}

  /** The index, or undefined before the first load. */
  get index(): SearchIndex | undefined {
    return this.current;
  }

  /** Profiles (per catalog) in the index. */
  get size(): number {
    return this.current?.size ?? 0;
  }

  /** Calls `f` after every change of the index (document ids may have been reused). */
  onChange(f: () => void): void {
    this.listeners.push(f);
  }

  /**
   * Rebuilds the whole index; searches keep using the old one until the new one is complete. Sources are read
   * from their search snapshots, SNAPSHOT_BATCH per round trip, and only those without a usable snapshot
   * profile by profile: at a million versions that is a thousand strings instead of a million entry JSONs.
   */
  async reloadAll(): Promise<void> {
    const fresh = new SearchIndex();
    const ids = await this.reader.sourceIds();
    const batches: string[][] = [];
    for (let i = 0; i < ids.length; i += SNAPSHOT_BATCH) batches.push(ids.slice(i, i + SNAPSHOT_BATCH));
    // The next batch is read while this one is indexed: Redis sends while this process parses and indexes.
    let next = batches.length > 0 ? this.readSources(batches[0]!) : undefined;
    for (const [b, batch] of batches.entries()) {
      const loaded = await next!;
      next = b + 1 < batches.length ? this.readSources(batches[b + 1]!) : undefined;
      // Awaited in the next turn; should this batch fail first, its failure must not go unhandled.
      next?.catch(() => undefined);
      for (const [j, docs] of loaded.entries()) {
        for (const d of docs) fresh.put(batch[j]!, d.member, d.doc, d.updated, d.versions);
        // One source at a time: requests answered meanwhile (from Redis) wait for one source, not a batch.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    this.current = fresh.seal();
    for (const f of this.listeners) f();
  }

  /** Replaces one source's profiles with what the catalog holds now (none, when the source is gone). */
  async reloadSource(sourceId: string): Promise<void> {
    if (!this.current) return;
    const [docs = []] = await this.readSources([sourceId]);
    const index = this.current;
    const keep = new Set(docs.map((d) => d.member));
    for (const member of [...(index.bySource.get(sourceId) ?? [])])
      if (!keep.has(member)) index.remove(member);
    for (const d of docs) index.put(sourceId, d.member, d.doc, d.updated, d.versions);
    if (index.bySource.get(sourceId)?.size === 0) index.bySource.delete(sourceId);
    for (const f of this.listeners) f();
  }

  /** Each source's profiles: from its snapshot, or (none usable) read and derived profile by profile. */
  private async readSources(ids: readonly string[]): Promise<SnapshotProfile[][]> {
    const snapshots = await this.reader.searchSnapshots(ids);
    const missing = ids.filter((_, i) => !snapshots[i]);
    for (let i = 0; i < missing.length; i += 16) {
      const read = await Promise.all(missing.slice(i, i + 16).map((id) => this.readProfiles(id)));
      read.forEach((docs, j) => (snapshots[ids.indexOf(missing[i + j]!)] = docs));
    }
    return snapshots.map((s) => s ?? []);
  }

  private async readProfiles(sourceId: string): Promise<SnapshotProfile[]> {
    return (await this.reader.sourceProfiles(sourceId)).flatMap(({ member, entries, updated }) => {
      const doc = searchDocument(entries);
      return doc ? [{ member, doc, updated, versions: entries.map((e) => e.version) }] : [];
    });
  }
}
