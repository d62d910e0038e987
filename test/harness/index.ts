/**
 * The test harness: private redis-server and nats-server on free loopback ports (never the machine's default
 * ones), and the real services started in-process against them. Every suite gets fresh servers; `stop()` in an
 * `after` hook removes them, and the guard in scripts/lib/processes.ts kills them even if the test process dies.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connectJetStream,
  connectRedis,
  silentLogger,
  createLogger,
  type JetStreamHandles,
  type Logger,
  type Redis,
} from '@profiles/shared/runtime';
import { startNats, startRedis, type LocalServer } from '../../scripts/lib/servers.ts';
import { start as startIndexer, type Indexer } from '../../services/indexer/src/start.ts';
import { start as startWatcher, type Watcher } from '../../services/watcher/src/start.ts';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../services/api/src/app.ts';
import type { ApiAuth } from '../../services/api/src/auth/setup.ts';
import { folderSecrets, noSecrets } from '@profiles/shared/git';

export { startNats, startRedis, type LocalServer } from '../../scripts/lib/servers.ts';
export { freePort, spawnGuarded } from '../../scripts/lib/processes.ts';

export function testLogger(name: string): Logger {
  return process.env.TEST_LOG ? createLogger(name, { level: process.env.TEST_LOG }) : silentLogger();
}

/** Polls `fn` until it returns a truthy value (returned) or `timeoutMs` passes (throws with the last value). */
export async function waitFor<T>(
  fn: () => Promise<T> | T,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      last = await fn();
      if (last) return last as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${opts.what ?? 'condition'}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`,
      );
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}

export interface IndexerOptions {
  /** Folder of Secret YAML for private repositories. */
  secretsDir?: string;
  pollIntervalSeconds?: number;
  pollTickMs?: number;
  gitTimeoutMs?: number;
  maxTags?: number;
  /** INDEXER_REBUILD_LANES (default: the indexer's). */
  rebuildLanes?: number;
  log?: Logger;
}

/** Servers started elsewhere (bench/lib/infra.ts: a NATS cluster, a Redis read replica); the stack stops them. */
export interface StackServers {
  redis: LocalServer;
  nats: LocalServer;
  natsUrls: string[];
  streamReplicas: number;
  redisReadUrl: string | undefined;
  stop: () => Promise<void>;
}

export interface Stack {
  redis: LocalServer;
  nats: LocalServer;
  /** Every NATS client URL (more than one on a cluster). */
  natsUrls: string[];
  /** NATS_STREAM_REPLICAS: every client declares the streams with it, or it would scale them back down. */
  streamReplicas: number;
  prefix: string;
  /** A Redis client for assertions. */
  client: Redis;
  jetstream: () => Promise<JetStreamHandles>;
  indexer: (
    name?: string,
    opts?: IndexerOptions,
  ) => Promise<Indexer & { redis: Redis; handles: JetStreamHandles }>;
  watcher: (
    dir: string,
    opts?: { snapshotIntervalSeconds?: number; log?: Logger },
  ) => Promise<Watcher & { handles: JetStreamHandles }>;
  kubeWatcher: (
    kubeconfigPath: string,
    opts?: {
      namespaces?: string[];
      snapshotIntervalSeconds?: number;
      watchTimeoutSeconds?: number;
      log?: Logger;
    },
  ) => Promise<Watcher & { handles: JetStreamHandles }>;
  api: (opts?: {
    webhookSecret?: string;
    rateLimitPerMinute?: number;
    corsOrigins?: string[];
    sseHeartbeatMs?: number;
    /** false: no pub/sub generation and no in-memory search mirror (every request asks Redis). */
    liveGeneration?: boolean;
    /** A Redis replica for reads (REDIS_READ_URL; default the servers' replica); writes go to the stack's Redis. */
    readUrl?: string;
    /** Authentication and authorization (default: an open API). */
    auth?: ApiAuth;
    log?: Logger;
  }) => Promise<{ url: string; close: () => Promise<void>; app: FastifyInstance }>;
  tempDir: (prefix?: string) => Promise<string>;
  stop: () => Promise<void>;
}

/**
 * `natsMaxPayloadBytes`: NATS's message limit (default 8 MB, as deployments should set it); `servers`: use
 * these instead of starting a redis-server and a nats-server.
 */
export async function startStack(
  opts: { natsMaxPayloadBytes?: number; servers?: StackServers } = {},
): Promise<Stack> {
  const [redis, nats] = opts.servers
    ? [opts.servers.redis, opts.servers.nats]
    : await Promise.all([
        startRedis(),
        startNats(opts.natsMaxPayloadBytes ? { maxPayloadBytes: opts.natsMaxPayloadBytes } : {}),
      ]);
  const natsUrls = opts.servers?.natsUrls ?? [nats.url];
  const streamReplicas = opts.servers?.streamReplicas ?? 1;
  const defaultReadUrl = opts.servers?.redisReadUrl;
  const prefix = 'pf:';
  const cleanups: (() => Promise<unknown>)[] = [];
  const client = connectRedis(redis.url, testLogger('test'), 'test');
  const jetstream = async () => {
    const h = await connectJetStream(natsUrls, testLogger('test'), 'test', undefined, { streamReplicas });
    cleanups.push(() => h.nc.close());
    return h;
  };
  /** A watcher whose stop() is idempotent, also closes its NATS connection, and runs at stack.stop(). */
  const managedWatcher = (w: Watcher, handles: JetStreamHandles) => {
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await w.stop();
      await handles.nc.close();
    };
    cleanups.push(stop);
    return { ...w, stop, handles };
  };
  const stack: Stack = {
    redis,
    nats,
    natsUrls,
    streamReplicas,
    prefix,
    client,
    jetstream,
    indexer: async (name = 'indexer', opts = {}) => {
      const handles = await jetstream();
      const r = connectRedis(redis.url, testLogger(name), name, { autoPipelining: false });
      const cacheDir = await stack.tempDir('repo-cache-');
      const log = opts.log ?? testLogger(name);
      const ix = await startIndexer({
        ...handles,
        redis: r,
        redisPrefix: prefix,
        log,
        pollIntervalSeconds: opts.pollIntervalSeconds ?? 300,
        pollTickMs: opts.pollTickMs ?? 200,
        ...(opts.rebuildLanes ? { rebuildLanes: opts.rebuildLanes } : {}),
        scanner: {
          cacheDir,
          timeoutMs: opts.gitTimeoutMs ?? 30_000,
          maxTags: opts.maxTags ?? 5000,
          maxProfileBytes: 256 * 1024,
          urlPolicy: {
            allowFile: true,
            denyHosts: ['169.254.', 'metadata.google.internal'],
            allowLoopback: true,
          },
          secrets: opts.secretsDir ? folderSecrets(opts.secretsDir, log) : noSecrets,
          log,
        },
      });
      let stopped = false;
      const stop = async () => {
        if (stopped) return;
        stopped = true;
        await ix.stop();
        await handles.nc.close();
        r.disconnect();
      };
      cleanups.push(stop);
      return { ...ix, stop, redis: r, handles };
    },
    watcher: async (dir, opts = {}) => {
      const handles = await jetstream();
      const w = await startWatcher({
        config: {
          watcherMode: 'folder',
          watchDir: dir,
          maxSourceBytes: 1024 * 1024,
          snapshotIntervalSeconds: opts.snapshotIntervalSeconds ?? 300,
        },
        js: handles.js,
        nc: handles.nc,
        log: opts.log ?? testLogger('watcher'),
      });
      return managedWatcher(w, handles);
    },
    kubeWatcher: async (kubeconfigPath, opts = {}) => {
      const handles = await jetstream();
      const w = await startWatcher({
        config: {
          watcherMode: 'kubernetes',
          watchDir: '',
          maxSourceBytes: 1024 * 1024,
          snapshotIntervalSeconds: opts.snapshotIntervalSeconds ?? 300,
          watchNamespaces: opts.namespaces ?? [],
        },
        js: handles.js,
        jsm: handles.jsm,
        nc: handles.nc,
        log: opts.log ?? testLogger('kube-watcher'),
        kubeconfigPath,
        ...(opts.watchTimeoutSeconds ? { watchTimeoutSeconds: opts.watchTimeoutSeconds } : {}),
      });
      return managedWatcher(w, handles);
    },
    api: async (opts = {}) => {
      const readUrl = opts.readUrl ?? defaultReadUrl;
      const r = connectRedis(readUrl ?? redis.url, testLogger('api'), 'api', { failFast: true });
      const w = readUrl
        ? connectRedis(redis.url, testLogger('api'), 'api-write', { failFast: true })
        : undefined;
      const nats = await jetstream();
      const app = await buildApp({
        redis: r,
        ...(w ? { writeRedis: w } : {}),
        redisPrefix: prefix,
        log: opts.log ?? testLogger('api'),
        nats,
        webhookSecret: opts.webhookSecret,
        rateLimitPerMinute: opts.rateLimitPerMinute ?? 0,
        corsOrigins: opts.corsOrigins ?? [],
        ...(opts.sseHeartbeatMs ? { sseHeartbeatMs: opts.sseHeartbeatMs } : {}),
        ...(opts.liveGeneration === false ? { liveGeneration: false } : {}),
        ...(opts.auth ? { auth: opts.auth } : {}),
      });
      const address = await app.listen({ host: '127.0.0.1', port: 0 });
      const close = async () => {
        await app.close();
        r.disconnect();
        w?.disconnect();
      };
      cleanups.push(close);
      return { url: address, close, app };
    },
    tempDir: async (p = 'profiles-test-') => {
      const d = await mkdtemp(join(tmpdir(), p));
      cleanups.push(() => rm(d, { recursive: true, force: true }));
      return d;
    },
    stop: async () => {
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
      client.disconnect();
      await (opts.servers ? opts.servers.stop() : Promise.all([redis.destroy(), nats.destroy()]));
    },
  };
  return stack;
}

/** A folder-mode ProfileCatalogSource file listing one profile at the given tags. */
export function sourceYaml(name: string, tags: string[], profile = 'app'): string {
  return [
    'apiVersion: weave.works/v1alpha1',
    'kind: ProfileCatalogSource',
    `metadata: {name: ${name}}`,
    'spec:',
    '  profiles:',
    ...tags.map((t) => `    - {name: ${profile}, tag: "${t}"}`),
    '',
  ].join('\n');
}

/** GET a JSON document; returns status and body. */
export async function getJson(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}
