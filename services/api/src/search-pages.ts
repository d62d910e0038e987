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
  /** The ranking's name for the result the page shows (`Ranked.stable`), when the engine gave one. */
  stable?: string;
}

/** The page held for one answer (URL and audience), and the catalog generation it was last confirmed at. */
interface Held {
  generation: string;
  page: Page;
}

/**
 * Answers already computed, by answer key (audience and URL), each for the catalog generation it was computed
 * or confirmed at: a page is answered only at that generation, so it can never be stale, and one of an older
 * generation is simply replaced. It is a per-process copy of what Redis holds, so replicas still answer alike.
 * Bounded by count and bytes.
 *
 * When the generation moves, the page of the generation before is offered to the computation (`obtain`): the
 * mirror tells whether the query's result is still the one that page shows (a change elsewhere in the catalog),
 * and then it is confirmed at the new generation as it is, its compressed forms too, instead of being read from
 * the catalog and encoded again.
 *
 * Requests for one key that miss together share one computation: when the generation moves, every request in
 * flight misses at once, and each searching, reading its page's entries and encoding the same answer held the
 * event loop for tens of milliseconds under 64 connections.
 */
export class SearchPages {
  private readonly pages = new BoundedCache<Held>({
    maxEntries: 1000,
    maxWeight: 32 * 1024 * 1024,
    weigh: (h) => h.page.body.size,
  });
  private readonly computing = new Map<string, Promise<Page>>();

  /** The page of `answer` at `generation`, if held. */
  get(generation: string, answer: string): Page | undefined {
    const held = this.pages.get(answer);
    return held?.generation === generation ? held.page : undefined;
  }

  /** Counts a compressed form made on demand of `page` against the budget (when it is the page held). */
  grow(answer: string, page: Page, bytes: number): void {
    if (this.pages.get(answer)?.page === page) this.pages.grow(answer, bytes);
  }

  /**
   * The page of `answer` at `generation`: the one held, the one being computed, or one `make` computes now
   * (given the page held from an earlier generation, which it may return as still true). Kept when it succeeds,
   * unless a newer generation's page was kept meanwhile; a failure reaches every request that waited for it,
   * and the next request tries again. No generation (not followed live): computed, not kept.
   */
  obtain(
    generation: string | undefined,
    answer: string,
    make: (earlier?: Page) => Promise<Page>,
  ): Promise<Page> {
    if (generation === undefined) return make();
    const held = this.pages.get(answer);
    if (held?.generation === generation) return Promise.resolve(held.page);
    const key = `${generation} ${answer}`;
    let pending = this.computing.get(key);
    if (pending === undefined) {
      pending = make(held?.page)
        .then((page) => {
          this.keep(generation, answer, page);
          return page;
        })
        .finally(() => this.computing.delete(key));
      this.computing.set(key, pending);
    }
    return pending;
  }

  private keep(generation: string, answer: string, page: Page): void {
    const now = this.pages.get(answer);
    if (now && Number(now.generation) > Number(generation)) return;
    // The same page confirmed: it keeps its entry, its weight (compressed forms included) and its place.
    if (now?.page === page) now.generation = generation;
    else this.pages.set(answer, { generation, page });
  }
}
