/**
 * A catalog of a million versions (SIZE, default 1,000,000: 1,000 sources of 1,000 versions) beside one of
 * 1,000, both written through the indexer's own CatalogWriter, served by the real API app in a process of its
 * own (bench/search-server.ts). Prints, as each is known:
 *  - Redis memory (INFO used_memory) after every 100k versions written, and the write rate;
 *  - mirror load on API start: time until the in-memory search mirror serves the whole catalog (Redis answers
 *    meanwhile), and the API process heap after a full GC;
 *  - uncached search p50/p99 (generation bumped before each request) at 1k and at SIZE, taking turns request
 *    by request; goal: p50 at SIZE ≤ 2× p50 at 1k;
 *  - 64 connections (autocannon, ten queries) against the SIZE catalog: p50/p99; goal p99 < 25 ms;
 *  - change → visible while those 64 connections run: a version added to one source through the writer, polled
 *    from the API until served; goal p99 < 50 ms.
 * The machine is shared with other engineers: the ratios measured in one run are what to compare.
 *
 *   npm run bench:million        (SIZE=1000000 DURATION=10 CHANGES=50; BENCH_CPU_PROFILE=file.cpuprofile
 *                                 writes the API process's CPU profile of the uncached searches;
 *                                 BENCH_HEAP_PROFILE=file.heapprofile the sampling heap profile of the
 *                                 64-connection phase: what it allocated and was not yet freed at its end
 *                                 (BENCH_HEAP_PROFILE_ALL=1: everything it allocated, freed or not;
 *                                 =major: what outlived the scavenges it met, freed by a major GC or not);
 *                                 BENCH_API_NODE_FLAGS adds Node flags to the API process;
 *                                 BENCH_API_PRETENURING=1 keeps V8's allocation-site pretenuring on in it,
 *                                 which the API turns off: v8-tuning.ts)
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { bumpGeneration, catalogKeys } from '@profiles/shared';
import { connectRedis, silentLogger } from '@profiles/shared/runtime';
import { startBenchInfra } from './lib/infra.ts';
import { CatalogWriter } from '../services/indexer/src/catalog-writer.ts';
import { indexedUpdate, inlineSource } from '../test/fixtures/inline-sources.ts';

const SIZE = Number(process.env.SIZE ?? 1_000_000);
const DURATION = Number(process.env.DURATION ?? 10);
const CHANGES = Number(process.env.CHANGES ?? 50);
/** A file to write the API process's CPU profile of the uncached searches to (none by default). */
const PROFILE = process.env.BENCH_CPU_PROFILE;
/** A file to write the API process's sampling heap profile of the 64-connection phase to (none by default). */
const HEAP_PROFILE = process.env.BENCH_HEAP_PROFILE;
/** Extra Node flags for the API process (BENCH_API_NODE_FLAGS, space-separated), e.g. garbage collector settings. */
const API_NODE_FLAGS = (process.env.BENCH_API_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const QUERIES = ['nginx', 'prom', 'grafanna', 'service mesh', 'redis', 'load balancer', 'cert-manager'];
const redisServer = await startBenchInfra();
const redis = connectRedis(redisServer.url, silentLogger(), 'bench', { autoPipelining: false });
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
/** CPU seconds (user + system) a process has used so far, from /proc (Linux; 0 elsewhere). */
const cpuSeconds = (pid: number | undefined): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
};
let gcUrl = '';
/** The API process's garbage collection pauses since the last ask (search-server.ts /gc). */
const gcPauses = async () => {
  const { major, minor, other } = (await (await fetch(gcUrl)).json()) as Record<
    'major' | 'minor' | 'other',
    { count: number; totalMs: number; maxMs: number }
  >;
  const line = (name: string, p: typeof major) => `${p.count} ${name} (${p.totalMs} ms, longest ${p.maxMs})`;
  return `GC: ${line('major', major)}, ${line('minor', minor)}, ${line('other', other)}`;
};
/** What a phase cost the API process, and the machine's load beside it (it is shared). */
const phaseCost = async (pid: number | undefined, since: { cpu: number; t: number }) =>
  `[API process CPU ${(cpuSeconds(pid) - since.cpu).toFixed(1)} s in ${((performance.now() - since.t) / 1000).toFixed(1)} s; ` +
  `${await gcPauses()}; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}]`;
const mark = (pid: number | undefined) => ({ cpu: cpuSeconds(pid), t: performance.now() });
const usedMB = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]) / 1e6;

async function load(prefix: string, size: number, report: boolean): Promise<CatalogWriter> {
  const writer = new CatalogWriter({ redis, keys: catalogKeys(prefix), log: silentLogger() });
  const per = Math.min(1000, size);
  let t = performance.now();
  let before = await usedMB();
  for (let n = 0; n * per < size; n++) {
    const { ref, entries } = inlineSource(n, per);
    await writer.upsert(indexedUpdate({ ref, seq: 1, origin: 'bench', specHash: String(n), entries }));
    await redis.del(catalogKeys(prefix).outboxEntries()); // no outbox drain here: its events are not the subject
    if (report && ((n + 1) * per) % 100_000 === 0) {
      const now = await usedMB();
      console.log(
        `${(n + 1) * per} versions: Redis ${now.toFixed(0)} MB (+${(now - before).toFixed(0)} MB for these 100k), ` +
          `${Math.round(100_000 / ((performance.now() - t) / 1000))} versions/s`,
      );
      before = now;
      t = performance.now();
    }
  }
  return writer;
}

const small = 'pf1k:';
const big = 'pfbig:';
await load(small, 1000, false);
console.log(`Redis with the 1k catalog: ${(await usedMB()).toFixed(0)} MB`);
console.log('machine shared with other engineers: figures move with their load, ratios of one run much less');
const writer = await load(big, SIZE, true);
const expected = async (prefix: string) => redis.zcard(catalogKeys(prefix).profileNames());

const server = spawn(
  process.execPath,
  // The big catalog first: search-server.ts serves the last prefix a second time (its authenticated variant),
  // whose mirror would otherwise count twice in the heap.
  [
    ...API_NODE_FLAGS,
    '--expose-gc',
    '--import',
    'tsx',
    'bench/search-server.ts',
    redisServer.url,
    big,
    small,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
try {
  const started = performance.now();
  // Its first JSON line gives the ports; anything else it prints (a flag's trace, say) goes to stderr, marked.
  const ports = await new Promise<{ apis: number[]; bare: number }>((resolve) => {
    let found = false;
    createInterface({ input: server.stdout! }).on('line', (l) => {
      if (!found && l.startsWith('{"apis"')) {
        found = true;
        resolve(JSON.parse(l));
      } else process.stderr.write(`[api] ${l}\n`);
    });
  });
  const listening = performance.now();
  const [apiBig, api1k] = ports.apis.map((p) => `http://127.0.0.1:${p}`) as [string, string];
  const profiles = await expected(big);
  // When the mirror holds the whole catalog, by its replica's own word (/readyz, polled every 20 ms beside the
  // searches): a search answered from Redis meanwhile may take seconds at this size, and waiting for it would
  // count its time as the mirror's.
  let loadedAt: number | undefined;
  const watchMirror = (async () => {
    while (loadedAt === undefined) {
      const r = (await (await fetch(`${apiBig}/readyz`)).json()) as {
        mirror?: { loaded: boolean; profiles: number };
      };
      if (r.mirror?.loaded && r.mirror.profiles === profiles) loadedAt = performance.now();
      else await new Promise((res) => setTimeout(res, 20));
    }
  })();
  let fromRedis = 0;
  const redisAnswers: number[] = [];
  for (;;) {
    // Another URL each time: a page answered once is kept for the generation, whichever engine computed it.
    const t = performance.now();
    const r = await fetch(`${apiBig}/v1/search?q=&limit=${1 + (fromRedis % 100)}`);
    const body = (await r.json()) as { total: number };
    if (r.headers.get('x-search-engine') === 'memory' && body.total === profiles) break;
    redisAnswers.push(performance.now() - t);
    fromRedis++;
    await new Promise((res) => setTimeout(res, 100));
  }
  await watchMirror;
  const loadS = (loadedAt! - listening) / 1000;
  const bootS = (listening - started) / 1000;
  const heap = ((await (await fetch(`http://127.0.0.1:${ports.bare}/heap`)).json()) as { heapUsedMB: number })
    .heapUsedMB;
  console.log(
    `API process listening after ${bootS.toFixed(1)} s (tsx compiling the sources, both apps built); ` +
      `mirror of ${SIZE} versions (${profiles} profiles) serving ${loadS.toFixed(1)} s after that ` +
      `(goal ≤ 15 s: ${loadS <= 15 ? 'met' : 'NOT met'}); ${fromRedis} searches answered from Redis meanwhile ` +
      `(${redisAnswers.map((ms) => ms.toFixed(0)).join(', ')} ms); ` +
      `API heap ${heap} MB with both catalogs and the 1k one again (goal ≤ 700 MB: ${heap <= 700 ? 'met' : 'NOT met'})`,
  );

  gcUrl = `http://127.0.0.1:${ports.bare}/gc`;
  await gcPauses(); // the load's pauses are not a phase's
  let phase = mark(server.pid);
  const timed = async (url: string, prefix: string, q: string) => {
    await bumpGeneration(redis.multi(), catalogKeys(prefix)).exec();
    const t = performance.now();
    const r = await fetch(`${url}/v1/search?q=${encodeURIComponent(q)}&limit=20`);
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`search answered ${r.status}`);
    return performance.now() - t;
  };
  const cold: [number[], number[]] = [[], []];
  const bareUrl = `http://127.0.0.1:${ports.bare}`;
  if (PROFILE) await fetch(`${bareUrl}/profile`, { method: 'POST' });
  for (let round = 0; round < 220; round++) {
    // Each query text is asked once (trailing spaces: the same words, another query): the engine keeps a
    // result across a generation bump that changes no document, and this measures ranking, not that.
    const q = QUERIES[round % QUERIES.length]! + ' '.repeat(Math.floor(round / QUERIES.length));
    const a = await timed(api1k, small, q);
    const b = await timed(apiBig, big, q);
    if (round >= 20) {
      cold[0].push(a);
      cold[1].push(b);
    }
  }
  if (PROFILE) await fetch(`${bareUrl}/profile?file=${encodeURIComponent(PROFILE)}`, { method: 'DELETE' });
  const ratio = pct(cold[1], 50) / pct(cold[0], 50);
  console.log(
    `uncached search p50 / p99: 1k ${pct(cold[0], 50).toFixed(2)} / ${pct(cold[0], 99).toFixed(2)} ms, ` +
      `${SIZE} ${pct(cold[1], 50).toFixed(2)} / ${pct(cold[1], 99).toFixed(2)} ms; ` +
      `p50 ratio ${ratio.toFixed(2)}x (goal ≤ 2x: ${ratio <= 2 ? 'met' : 'NOT met'}) ${await phaseCost(server.pid, phase)}`,
  );
  phase = mark(server.pid);

  // 64 connections on the big catalog; meanwhile, changes written one at a time and polled until visible.
  if (HEAP_PROFILE)
    await fetch(`${bareUrl}/heap-profile?all=${process.env.BENCH_HEAP_PROFILE_ALL ?? 0}`, {
      method: 'POST',
    });
  const load64 = autocannon({
    url: apiBig,
    connections: 64,
    // In a thread of its own: the changes below are written and polled from this event loop, which the load
    // generator would otherwise keep busy (their latency would be the bench's, not the pipeline's).
    workers: 1,
    duration: DURATION,
    requests: QUERIES.map((q) => ({
      method: 'GET' as const,
      path: `/v1/search?q=${encodeURIComponent(q)}&limit=20`,
    })),
  });
  await new Promise((r) => setTimeout(r, 1000));
  const visible: number[] = [];
  // Of each change: the write through the writer (this process, Redis) and the polls after it (the API).
  const written: number[] = [];
  const polls: number[] = [];
  // The baseline: one request for a version already served, just before each change, under the same load.
  const baseline: number[] = [];
  // And a search the load asks too (a page the API holds in memory): the same trip without Redis behind it.
  const searchBaseline: number[] = [];
  // A small source of its own (one profile), so the figure is the pipeline's latency, not a big rewrite's.
  const ref = { namespace: 'bench', name: 'changes' };
  const base = inlineSource(0, 1).entries[0]!;
  const versionUrl = (version: string) =>
    `${apiBig}/v1/catalogs/${ref.name}/profiles/changing/versions/${version}`;
  for (let i = 0; i < CHANGES; i++) {
    const version = `9.${i}.0`;
    const entry = {
      ...base,
      name: 'changing',
      catalogSource: ref.name,
      version,
      tag: `changing/v${version}`,
    };
    // Before the first change, a version of the big catalog's first source: the route is then as warm for
    // the first change as for the others (its code had not run in this process before).
    const b = performance.now();
    const r = await fetch(
      i > 0
        ? versionUrl(`9.${i - 1}.0`)
        : `${apiBig}/v1/catalogs/${base.catalogSource}/profiles/${base.name}/versions/${base.version}`,
    );
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`a version already served answered ${r.status}`);
    baseline.push(performance.now() - b);
    const s = performance.now();
    await (
      await fetch(`${apiBig}/v1/search?q=${encodeURIComponent(QUERIES[i % QUERIES.length]!)}&limit=20`)
    ).arrayBuffer();
    searchBaseline.push(performance.now() - s);
    const t = performance.now();
    await writer.upsert(
      indexedUpdate({ ref, seq: 1 + i, origin: 'bench', specHash: `change-${i}`, entries: [entry] }),
    );
    written.push(performance.now() - t);
    const url = versionUrl(version);
    // Each answer read to its end, as a client does: one left unread keeps its connection from the pool, and
    // the next ask would open another to the loaded API.
    const served = async () => {
      const r = await fetch(url);
      await r.arrayBuffer();
      return r.status === 200;
    };
    let asked = 1;
    while (!(await served())) {
      asked++;
      await new Promise((r) => setTimeout(r, 1));
    }
    visible.push(performance.now() - t);
    polls.push(asked);
  }
  const result = await load64;
  if (HEAP_PROFILE)
    await fetch(`${bareUrl}/heap-profile?file=${encodeURIComponent(HEAP_PROFILE)}`, { method: 'DELETE' });
  console.log(
    `64 connections, ${DURATION} s: ${result.requests.average.toFixed(0)} req/s, p50 ${result.latency.p50} ms, ` +
      `p99 ${result.latency.p99} ms (goal < 25 ms: ${result.latency.p99 < 25 ? 'met' : 'NOT met'}), ` +
      `errors ${result.errors + result.non2xx} ${await phaseCost(server.pid, phase)}`,
  );
  console.log(
    `change → visible while searching (${visible.length} changes): p50 ${pct(visible, 50).toFixed(1)} ms, ` +
      `p99 ${pct(visible, 99).toFixed(1)} ms (goal < 50 ms: ${pct(visible, 99) < 50 ? 'met' : 'NOT met'}); ` +
      `of which the write p50 ${pct(written, 50).toFixed(1)} / p99 ${pct(written, 99).toFixed(1)} ms, ` +
      `requests until served p50 ${pct(polls, 50)} / max ${Math.max(...polls)}; baseline, a version already ` +
      `served asked just before each change: p50 ${pct(baseline, 50).toFixed(1)} / p99 ${pct(baseline, 99).toFixed(1)} ms, ` +
      `a search the load asks too (held in memory): p50 ${pct(searchBaseline, 50).toFixed(1)} / p99 ${pct(searchBaseline, 99).toFixed(1)} ms`,
  );
  // The slowest changes, split: what the tail is made of.
  const slowest = visible
    .map((ms, i) => ({ ms, write: written[i]!, served: ms - written[i]!, polls: polls[i]! }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 3);
  console.log(
    `slowest changes: ${slowest.map((c) => `${c.ms.toFixed(1)} ms (write ${c.write.toFixed(1)}, then ${c.served.toFixed(1)} in ${c.polls} requests)`).join('; ')}`,
  );
} finally {
  server.kill();
  redis.disconnect();
  await redisServer.destroy();
}
