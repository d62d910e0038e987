import { BoundedCache } from './bounded-cache.ts';
import type { EncodedBody } from './page-encodings.ts';

/** A search answer as sent. */
export interface Page {
  /**
   * The JSON as bytes, with its compressed forms made on demand. A string would be joined to the headers and
   * encoded again on every send: at thousands of requests per second that copying is most of the garbage the
   * process collects.
   */
  body: EncodedBody;
  engine: string;
}

/**
 * Answers already computed for the current catalog generation, by key (generation, audience and URL). Keyed by
 * generation, an entry can never be stale: any catalog change moves the generation and the old entries just
 * age out. It is a per-process copy of what Redis holds, so replicas still answer alike. Bounded by count and
 * bytes.
 *
 * Requests for one key that miss together share one computation: when the generation moves, every request in
 * flight misses at once, and each searching, reading its page's entries and encoding the same answer held the
 * event loop for tens of milliseconds under 64 connections.
 */
export class SearchPages {
  private readonly pages = new BoundedCache<Page>({
    maxEntries: 1000,
    maxWeight: 32 * 1024 * 1024,
    weigh: (p) => p.body.identity.length,
  });
  private readonly computing = new Map<string, Promise<Page>>();

  get(key: string): Page | undefined {
    return this.pages.get(key);
  }

  /** Counts a compressed form made on demand against the budget. */
  grow(key: string, bytes: number): void {
    this.pages.grow(key, bytes);
  }

  /**
   * The page at `key`: the one held, the one being computed, or one `make` computes now (kept when it succeeds;
   * a failure reaches every request that waited for it, and the next request tries again). No key: not kept.
   */
  obtain(key: string | undefined, make: () => Promise<Page>): Promise<Page> {
    if (key === undefined) return make();
    const held = this.pages.get(key);
    if (held !== undefined) return Promise.resolve(held);
    let pending = this.computing.get(key);
    if (pending === undefined) {
      pending = make()
        .then((page) => {
          this.pages.set(key, page);
          return page;
        })
        .finally(() => this.computing.delete(key));
      this.computing.set(key, pending);
    }
    return pending;
  }
}
