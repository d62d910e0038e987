/**
 * Search speed. One run prints:
 *  1. search p50 / p99 at 1k, 10k and 100k profile versions, uncached (the catalog generation is bumped before
 *     every request, so each one computes its result) and cached (repeated query). Each size has its own
 *     catalog (Redis prefix) and API instance, and the sizes take turns request by request, so the machine's
 *     ups and downs hit them alike; the API process's heap growth per catalog is printed as it loads;
 *  2. throughput and latency at 64 connections (autocannon) of `GET /v1/search` over the 100k catalog against a
 *     bare Fastify route in the same process (the baseline), once with a tiny body and once serving a real
 *     search answer verbatim; after a one-second warm-up of each, the three take turns, ROUNDS rounds of
 *     DURATION seconds each; each round's ratio is printed, the goal is read on the median of the rounds' ratios
 *     (the ratio of mean req/s is printed beside it), and the server's CPU time per request (Linux);
 *  3. the same searches with a bearer token against an API closed to anonymous callers (authenticated
 *     variant), its ratio to the unauthenticated search of the same rounds (goal >= 90%).
 * The load generator and the servers run on a CPU each where the machine allows (see `pinned`).
 * The catalogs are loaded through the indexer's own CatalogWriter, so the indexes are exactly the real ones.
 *
 *   npm run bench:search        (DURATION=2 ROUNDS=7)
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { bumpGeneration, catalogKeys } from '@profiles/shared';
import { connectRedis, silentLogger } from '@profiles/shared/runtime';
import { startBenchInfra } from './lib/infra.ts';
import { loadSyntheticCatalog } from './lib/synthetic-catalog.ts';

const DURATION = Number(process.env.DURATION ?? 2);
/** The authenticated variant's token, handed to the server process in its environment. */
const BENCH_TOKEN = 'bench-token-0123456789abcdef';
process.env.BENCH_TOKEN = BENCH_TOKEN;
const ROUNDS = Number(process.env.ROUNDS ?? 7);
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

const SIZES = [1_000, 10_000, 100_000];
const redisServer = await startBenchInfra();
const redis = connectRedis(redisServer.url, silentLogger(), 'bench', { autoPipelining: false });

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Answers that did not come from the generation just bumped (the API had not heard of it yet): not uncached. */
let stale = 0;

/** One search; `uncached`: bump the catalog generation first, so the API must compute the answer. */
async function timed(url: string, prefix: string, q: string, uncached: boolean): Promise<number> {
  const bumped = uncached
    ? (await bumpGeneration(redis.multi(), catalogKeys(prefix)).exec())![0]![1]
    : undefined;
  const t = performance.now();
  const r = await fetch(`${url}/v1/search?q=${encodeURIComponent(q)}&limit=20`);
  await r.arrayBuffer();
  const ms = performance.now() - t;
  if (r.status !== 200) throw new Error(`search answered ${r.status}`);
  if (bumped !== undefined && !r.headers.get('etag')?.startsWith(`"${bumped}-`)) stale++;
  return ms;
}

const prefixes = SIZES.map((n) => `pf${n}:`);
/**
 * With two or more CPUs the load generator (this process, every thread) and the servers get a CPU each (Linux
 * `taskset`): left to the scheduler, the two processes keep trading places on the same CPUs, and a run measures
 * those migrations as much as the servers (per-request server CPU halves when pinned). PIN=0 turns it off.
 */
const pinned =
  process.env.PIN !== '0' &&
  availableParallelism() >= 2 &&
  spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' }).status === 0;
const serverArgs = ['--expose-gc', '--import', 'tsx', 'bench/search-server.ts', redisServer.url, ...prefixes];
const server = pinned
  ? spawn('taskset', ['-c', '1', process.execPath, ...serverArgs], { stdio: ['ignore', 'pipe', 'inherit'] })
  : spawn(process.execPath, serverArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
console.log(
  pinned
    ? 'load generator pinned to CPU 0, API and bare servers to CPU 1'
    : 'not pinned (PIN=0, one CPU, or no taskset)',
);
try {
  const ports = await new Promise<{ apis: number[]; bare: number; authed: number }>((resolve) =>
    createInterface({ input: server.stdout! }).once('line', (l) => resolve(JSON.parse(l))),
  );
  const apis = ports.apis.map((p) => `http://127.0.0.1:${p}`);
  const heap = async () =>
    ((await (await fetch(`http://127.0.0.1:${ports.bare}/heap`)).json()) as { heapUsedMB: number })
      .heapUsedMB;
  const heaps = [await heap()];
  for (const [i, size] of SIZES.entries()) {
    const t = performance.now();
    const expected = await loadSyntheticCatalog(redis, prefixes[i]!, size);
    // Wait until the API's mirror holds the catalog, so the heap figure includes it. Each poll asks another
    // page size: a page is cached per generation, and one the Redis engine answered while the mirror caught up
    // would be served again, saying `redis`, until the next change (none comes).
    let poll = 0;
    const fresh = () => `/v1/search?q=&limit=${1 + (poll++ % 20)}`;
    for (;;) {
      const r = await fetch(`${apis[i]}${fresh()}`);
      const body = (await r.json()) as { total: number };
      if (r.headers.get('x-search-engine') === 'memory' && body.total === expected) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    // The authenticated instance serves the largest catalog: wait for its mirror too.
    for (; i === SIZES.length - 1;) {
      const r = await fetch(`http://127.0.0.1:${ports.authed}${fresh()}`, {
        headers: { authorization: `Bearer ${BENCH_TOKEN}` },
      });
      const body = (await r.json()) as { total: number };
      if (r.headers.get('x-search-engine') === 'memory' && body.total === expected) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    heaps.push(await heap());
    console.log(
      `loaded ${size} versions in ${((performance.now() - t) / 1000).toFixed(1)} s; API process heap +${heaps[i + 1]! - heaps[i]!} MB`,
    );
  }
  // The sizes take turns request by request, so a busy moment of the machine hits all of them alike.
  const cold: number[][] = SIZES.map(() => []);
  const warm: number[][] = SIZES.map(() => []);
  for (let round = 0; round < 320; round++) {
    const q = QUERIES[round % QUERIES.length]!;
    for (const i of SIZES.keys()) {
      const ms = await timed(apis[i]!, prefixes[i]!, q, true);
      if (round >= 20) cold[i]!.push(ms); // the first rounds warm up
    }
  }
  for (let round = 0; round < 320; round++) {
    const q = QUERIES[round % QUERIES.length]!;
    for (const i of SIZES.keys()) {
      const ms = await timed(apis[i]!, prefixes[i]!, q, false);
      if (round >= 20) warm[i]!.push(ms);
    }
  }
  const rows = SIZES.map((size, i) => {
    const c = cold[i]!;
    const w = warm[i]!;
    return `${String(size).padStart(7)} versions  uncached p50 ${pct(c, 50).toFixed(2)} ms  p99 ${pct(c, 99).toFixed(2)} ms   cached p50 ${pct(w, 50).toFixed(2)} ms  p99 ${pct(w, 99).toFixed(2)} ms`;
  });
  console.log(rows.join('\n'));
  const api = apis[SIZES.length - 1]!;
  // Every run asks ten URLs in turn, so the load generator does the same work against each server.
  const paths = QUERIES.map((q) => `?q=${encodeURIComponent(q)}&limit=20`);
  /** CPU seconds (user + system) the server process has used, or NaN where /proc is not there. */
  const serverCpu = (): number => {
    try {
      const fields = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks: USER_HZ is 100 on Linux
    } catch {
      return NaN;
    }
  };
  /** One run; `cpuPerRequest`: the server's CPU µs per request answered (the API instances not asked are idle). */
  const run = async (
    base: string,
    path: string,
    duration = DURATION,
    headers: Record<string, string> = {},
  ) => {
    const cpu = serverCpu();
    const result = await autocannon({
      url: base,
      connections: 64,
      duration,
      requests: paths.map((p) => ({ method: 'GET' as const, path: `${path}${p}`, headers })),
    });
    return Object.assign(result, { cpuPerRequest: ((serverCpu() - cpu) * 1e6) / result.requests.total });
  };
  const bareBase = `http://127.0.0.1:${ports.bare}`;
  // The search-sized baseline serves a real search answer (the first query's) without searching.
  const sample = await (await fetch(`${api}/v1/search${paths[0]}`)).json();
  await fetch(`${bareBase}/bare-sized`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(sample),
  });
  type Run = Awaited<ReturnType<typeof run>>;
  const results: Record<'bare' | 'sized' | 'search' | 'gzip' | 'authed', Run[]> = {
    bare: [],
    sized: [],
    search: [],
    gzip: [],
    authed: [],
  };
  const authedBase = `http://127.0.0.1:${ports.authed}`;
  const token = { authorization: `Bearer ${BENCH_TOKEN}` };
  // Browsers, curl --compressed and most HTTP libraries ask for compressed answers: measured apart.
  const gzip = { 'accept-encoding': 'gzip' };
  // Warm-up: connections, JIT and (for search) the ten pages, before anything is counted.
  await run(bareBase, '/bare', 1);
  await run(bareBase, '/bare-sized', 1);
  await run(api, '/v1/search', 1);
  await run(api, '/v1/search', 1, gzip);
  await run(authedBase, '/v1/search', 1, token);
  for (let round = 0; round < ROUNDS; round++) {
    results.bare.push(await run(bareBase, '/bare'));
    results.sized.push(await run(bareBase, '/bare-sized'));
    // Ten different searches in turn (each answered from the per-generation page cache once computed).
    results.search.push(await run(api, '/v1/search'));
    results.gzip.push(await run(api, '/v1/search', DURATION, gzip));
    // The same searches with a bearer token, by a caller whose audience is every source.
    results.authed.push(await run(authedBase, '/v1/search', DURATION, token));
    const [b, z, s] = [results.bare, results.sized, results.search].map((r) => r[round]!.requests.average);
    console.log(
      `round ${round + 1}: search ${s!.toFixed(0)} req/s = ${((100 * s!) / b!).toFixed(0)}% of the tiny-body route, ${((100 * s!) / z!).toFixed(0)}% of the same-bytes route`,
    );
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const summary = (rs: Run[]) => ({
    rps: mean(rs.map((r) => r.requests.average)),
    p50: pct(
      rs.map((r) => r.latency.p50),
      50,
    ),
    p99: pct(
      rs.map((r) => r.latency.p99),
      50,
    ),
    errors: rs.reduce((n, r) => n + r.errors + r.non2xx, 0),
    cpu: mean(rs.map((r) => r.cpuPerRequest)),
  });
  const bare = summary(results.bare);
  const sized = summary(results.sized);
  const search = summary(results.search);
  const line = (name: string, r: ReturnType<typeof summary>) =>
    `${name.padEnd(44)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${String(r.p50).padStart(4)} ms   p99 ${String(r.p99).padStart(4)} ms   server CPU ${r.cpu.toFixed(0).padStart(3)} µs/request   errors ${r.errors}`;
  const bytes = JSON.stringify(sample).length;
  console.log(
    `\n64 connections, ${ROUNDS} rounds of ${DURATION} s each (mean req/s, median p50/p99), catalog of 100k versions`,
  );
  console.log(line('baseline: bare Fastify route, 22-byte body', bare));
  console.log(line(`baseline: bare Fastify route, ${bytes}-byte body`, sized));
  console.log(line('GET /v1/search, 10 queries', search));
  console.log(line('GET /v1/search, 10 queries, gzip accepted', summary(results.gzip)));
  console.log(line('GET /v1/search, 10 queries, bearer token', summary(results.authed)));
  /**
   * A ratio two ways: the median of the rounds' ratios (each round measures the two back to back, so a moment
   * when the shared machine stalls spoils that round only, as one outlier) and the ratio of the mean req/s
   * (which such a moment drags down for the whole run).
   */
  const ratio = (of: Run[], to: Run[]) => {
    const rounds = of.map((r, i) => r.requests.average / to[i]!.requests.average).sort((a, b) => a - b);
    const median = rounds[Math.floor(rounds.length / 2)]!;
    const pc = (x: number) => `${(100 * x).toFixed(0)}%`;
    const text = `${pc(median)} (median of ${rounds.length} rounds, ${pc(rounds[0]!)}–${pc(rounds.at(-1)!)}; ratio of mean req/s ${pc(summary(of).rps / summary(to).rps)})`;
    return { median, text };
  };
  // The goal is read against the stricter baseline, the bare route with a tiny body.
  const tiny = ratio(results.search, results.bare);
  console.log(`search / bare route with a tiny body: ${tiny.text}`);
  console.log(`   goal >= 60%: ${tiny.median >= 0.6 ? 'met' : 'NOT met'}`);
  console.log(`search / bare route serving the same bytes: ${ratio(results.search, results.sized).text}`);
  console.log(
    `search, gzip accepted / bare route with a tiny body: ${ratio(results.gzip, results.bare).text}`,
  );
  const authedRatio = ratio(results.authed, results.search);
  console.log(`authenticated search / unauthenticated search: ${authedRatio.text}`);
  console.log(`   goal >= 90%: ${authedRatio.median >= 0.9 ? 'met' : 'NOT met'}`);
  console.log(`uncached requests answered from an older generation (not really uncached): ${stale}`);
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
