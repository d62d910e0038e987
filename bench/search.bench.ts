/**
 * Search speed. One run prints:
 *  1. throughput and latency at 64 connections (autocannon, DURATION seconds each) of `GET /v1/search` against a
 *     bare Fastify route served by the same kind of process on the same machine (the baseline);
 *  2. search p50 / p99 at 1k, 10k and 100k profile versions, uncached (the catalog generation is bumped before
 *     every request, so each one computes its result) and cached (repeated query).
 * The catalog is loaded through the indexer's own CatalogWriter, so the indexes are exactly the real ones.
 *
 *   npm run bench:search        (DURATION=5)
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { catalogKeys, connectRedis, silentLogger, type CatalogEntry } from '@profiles/shared';
import { startRedis } from '../scripts/lib/servers.ts';
import { CatalogWriter } from '../services/indexer/src/catalog-writer.ts';
import { generateCatalog } from '../test/fixtures/catalog-generator.ts';

const DURATION = Number(process.env.DURATION ?? 5);
const PREFIX = 'pf:';
const QUERIES = [
  'nginx',
  'prom',
  'grafanna',
  'service mesh',
  'redis',
  'load balancer',
  'cert-manager',
  'postgress',
  'monitoring',
  'kafka',
];

const redisServer = await startRedis();
const redis = connectRedis(redisServer.url, silentLogger(), 'bench', { autoPipelining: false });
const keys = catalogKeys(PREFIX);
const writer = new CatalogWriter({ redis, keys, log: silentLogger() });
let seq = 0;
let loaded = 0;

/** Adds catalogs of 1,000 versions each until the catalog holds `target` versions. */
async function loadUpTo(target: number): Promise<void> {
  while (loaded < target) {
    const n = Math.floor(loaded / 1000);
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
    await writer.upsert({
      ref,
      seq: ++seq,
      origin: 'bench',
      specHash: String(seq),
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
    loaded += entries.length;
  }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function latencies(url: string, rounds: number, cold: boolean): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    if (cold) await redis.incr(keys.generation());
    const q = QUERIES[i % QUERIES.length]!;
    const t = performance.now();
    const r = await fetch(`${url}/v1/search?q=${encodeURIComponent(q)}&limit=20`);
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`search answered ${r.status}`);
    out.push(performance.now() - t);
  }
  return out;
}

const server = spawn(
  process.execPath,
  ['--import', 'tsx', 'bench/search-server.ts', redisServer.url, PREFIX],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
try {
  const ports = await new Promise<{ api: number; bare: number }>((resolve) =>
    createInterface({ input: server.stdout! }).once('line', (l) => resolve(JSON.parse(l))),
  );
  const api = `http://127.0.0.1:${ports.api}`;
  const rows: string[] = [];
  for (const size of [1_000, 10_000, 100_000]) {
    const t = performance.now();
    await loadUpTo(size);
    const loadS = (performance.now() - t) / 1000;
    await latencies(api, 20, true); // warm-up
    const cold = await latencies(api, 200, true);
    const warm = await latencies(api, 200, false);
    rows.push(
      `${String(size).padStart(7)} versions  uncached p50 ${pct(cold, 50).toFixed(2)} ms  p99 ${pct(cold, 99).toFixed(2)} ms   cached p50 ${pct(warm, 50).toFixed(2)} ms  p99 ${pct(warm, 99).toFixed(2)} ms   (loaded in ${loadS.toFixed(1)} s)`,
    );
    console.log(rows[rows.length - 1]);
  }
  const run = (url: string, paths?: string[]) =>
    autocannon({
      url,
      connections: 64,
      duration: DURATION,
      ...(paths ? { requests: paths.map((path) => ({ method: 'GET' as const, path })) } : {}),
    });
  const bare = await run(`http://127.0.0.1:${ports.bare}/bare`);
  // Ten different searches in turn (each answered from the per-generation page cache once computed).
  const search = await run(
    api,
    QUERIES.map((q) => `/v1/search?q=${encodeURIComponent(q)}&limit=20`),
  );
  const line = (name: string, r: autocannon.Result) =>
    `${name.padEnd(30)} ${r.requests.average.toFixed(0).padStart(7)} req/s   p50 ${String(r.latency.p50).padStart(4)} ms   p99 ${String(r.latency.p99).padStart(4)} ms   errors ${r.errors + r.non2xx}`;
  console.log(`\n64 connections, ${DURATION} s each, catalog of 100k versions`);
  console.log(line('baseline: bare Fastify route', bare));
  console.log(line('GET /v1/search, 10 queries', search));
  const ratio = search.requests.average / bare.requests.average;
  console.log(
    `search / bare: ${(ratio * 100).toFixed(0)}%   goal >= 60%: ${ratio >= 0.6 ? 'met' : 'NOT met'}`,
  );
  const p50 = (s: string) => Number(/uncached p50 ([\d.]+)/.exec(s)![1]);
  const scale = p50(rows[2]!) / p50(rows[0]!);
  console.log(
    `uncached p50 at 100k / at 1k: ${scale.toFixed(2)}x   goal <= 1.5x: ${scale <= 1.5 ? 'met' : 'NOT met'}`,
  );
} finally {
  server.kill();
  redis.disconnect();
  await redisServer.destroy();
}
