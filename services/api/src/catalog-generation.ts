import { ALL_SOURCES, parseGenerationMessage } from '@profiles/shared';
import type { Logger, Redis } from '@profiles/shared/runtime';
import type { CatalogReader } from './catalog-reader.ts';

type GenerationMessage = ReturnType<typeof parseGenerationMessage>;

/** What follows the catalog change by change (the in-memory search mirror). */
export interface CatalogFollower {
  reloadAll(): Promise<void>;
  reloadSource(sourceId: string): Promise<void>;
  /** A change of this source was announced: said at once, before its `reloadSource` waits its turn. */
  announced?(sourceId: string): void;
}

/**
 * The catalog generation, known in the process. Every catalog change bumps the generation and announces
 * `{generation} {source id}` on a pub/sub channel (shared `bumpGeneration`); this subscribes, so ETags and cached
 * pages need no Redis round trip per request, and a follower (the search mirror) reloads just the source that
 * changed. It holds a copy, never state of its own: while the subscription is not confirmed (start, reconnect,
 * Redis away) `current()` is undefined and callers ask Redis, as every replica would.
 *
 * Why no change can be missed: after each (re)connect it subscribes, waits for Redis to confirm, and only then
 * reads the counter and (re)loads the follower. A bump before the confirmation is in that read; a bump after it
 * arrives as a message, handled after the load. `current()` moves as soon as a message arrives (ETags must not
 * lag); the follower's work runs one task at a time, in arrival order, and `followed()` names the generation it
 * reflects, so the mirror is used only when it is exactly as new as the request. Announcements on one
 * connection only ever grow; one that does not means the catalog was reset (flushed, restored), and everything
 * is loaded again. The subscriber is a duplicate
 * of the reading client, so with a read replica the announcement comes through the replication stream after
 * the writes.
 */
export class CatalogGeneration {
  private sub: Redis | undefined;
  private latest: string | undefined;
  private followedAt: string | undefined;
  private synced = false;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private tasks: Promise<void> = Promise.resolve();
  /** The last generation announced on this connection: announcements only ever grow, unless Redis was reset. */
  private lastAnnounced = 0;
  /** Searches waiting for the follower to reach their generation (`whenFollowed`), checked at every step. */
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly deps: {
      /** The reading client: its duplicate subscribes. */
      redis: Redis;
      reader: CatalogReader;
      log: Logger;
      follower?: CatalogFollower;
    },
  ) {}

  /** The generation, or undefined when the subscription is not live (then ask Redis). */
  current(): string | undefined {
    return this.synced ? this.latest : undefined;
  }

  /** The generation the follower reflects, or undefined when not synced. */
  followed(): string | undefined {
    return this.synced ? this.followedAt : undefined;
  }

  /** Whether the follower has applied every change announced so far (synced, nothing waiting). */
  inStep(): boolean {
    return this.synced && this.followedAt !== undefined && this.followedAt === this.latest;
  }

  start(): void {
    const { redis, reader } = this.deps;
    const channel = reader.generationChannel();
    // Its own connection (a subscribed connection runs no other commands); it queues its SUBSCRIBE while away
    // and re-subscribes itself on every `ready`, so that it knows when the subscription is confirmed.
    const sub = redis.duplicate({
      connectionName: 'api-generation',
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      autoResubscribe: false,
    });
    this.sub = sub;
    sub.on('error', () => {
      /* the reading client logs connection trouble; this one just falls back while it lasts */
    });
    sub.on('message', (ch: string, message: string) => {
      if (ch !== channel) return;
      const parsed = parseGenerationMessage(message);
      const announced = Number(parsed.generation);
      if (announced <= this.lastAnnounced) {
        // The counter went back (the catalog was flushed or restored): what is held is of another catalog.
        this.lastAnnounced = announced;
        this.synced = false;
        this.enqueue(() => this.sync());
        return;
      }
      this.lastAnnounced = announced;
      if (this.synced) {
        this.latest = newer(this.latest, parsed.generation);
        if (parsed.sourceId !== undefined && parsed.sourceId !== ALL_SOURCES)
          this.deps.follower?.announced?.(parsed.sourceId);
      }
      this.enqueue(() => this.apply(parsed));
    });
    sub.on('close', () => {
      this.synced = false;
      this.lastAnnounced = 0;
    });
    sub.on('ready', () => this.enqueue(() => this.sync()));
  }

  /**
   * Resolves true once the follower reflects `generation` (or a newer one), false if it does not within `ms`:
   * a search that arrives between an announcement and its reload waits for the mirror instead of asking Redis.
   */
  whenFollowed(generation: string, ms: number): Promise<boolean> {
    const reached = () => this.followed() !== undefined && Number(this.followedAt) >= Number(generation);
    if (reached()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!reached()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        resolve(false);
      }, ms).unref();
      this.waiters.add(check);
    });
  }

  private wake(): void {
    for (const check of [...this.waiters]) check();
  }

  /** Resolves once every task queued so far has run (tests). */
  settled(): Promise<void> {
    return this.tasks;
  }

  private enqueue(task: () => Promise<void>): void {
    this.tasks = this.tasks.then(task).catch((err: Error) => {
      // A failed reload leaves the follower behind: stop vouching for it and load everything again.
      this.synced = false;
      this.deps.log.warn({ err: err.message }, 'catalog generation not synced; retrying');
      clearTimeout(this.retry);
      if (!this.closed) this.retry = setTimeout(() => this.enqueue(() => this.sync()), 500).unref();
    });
  }

  private async sync(): Promise<void> {
    const { reader, follower } = this.deps;
    if (this.closed || !this.sub) return;
    this.synced = false;
    await this.sub.subscribe(reader.generationChannel());
    const value = await reader.generation();
    const started = Date.now();
    await follower?.reloadAll();
    // Loading everything is the costly path (seconds at a million versions): say when and how long.
    this.deps.log.info({ generation: value, ms: Date.now() - started }, 'catalog followed from a full load');
    this.latest = value;
    this.followedAt = value;
    this.synced = this.sub.status === 'ready';
    this.wake();
  }

  private async apply({ generation, sourceId }: GenerationMessage): Promise<void> {
    if (!this.synced) return; // a sync is queued behind: it loads everything
    if (sourceId === ALL_SOURCES) return this.sync(); // the catalog was rebuilt
    if (sourceId !== undefined) await this.deps.follower?.reloadSource(sourceId);
    this.latest = newer(this.latest, generation);
    this.followedAt = newer(this.followedAt, generation);
    this.wake();
  }

  close(): void {
    this.closed = true;
    this.synced = false;
    clearTimeout(this.retry);
    this.sub?.disconnect();
  }
}

/** Messages already covered by a sync's read are older than it: never step back. */
function newer(current: string | undefined, candidate: string): string {
  return current === undefined || Number(candidate) > Number(current) ? candidate : current;
}
