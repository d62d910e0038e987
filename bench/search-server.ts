/**
 * The servers the search benchmark loads, in a process of their own (so the load generator does not share its
 * event loop): the real API app (one per catalog prefix), and a bare Fastify app as the baseline: `/bare` answers a tiny constant body,
 * `/bare-sized` answers verbatim the body last stored with `PUT /bare-sized` (a real search answer, so the
 * baseline serves the same bytes without doing the search).
 * An API closed to anonymous callers serves the last prefix again, for the authenticated variant.
 * argv: <redis url> <prefix>...; prints `{"apis": [port per prefix], "bare": port, "authed": port}` once
 * listening.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import Fastify from 'fastify';
import { connectRedis, createLogger, silentLogger } from '@profiles/shared/runtime';
import { buildApp } from '../services/api/src/app.ts';
import { Authenticator } from '../services/api/src/auth/authenticate.ts';
import { WritePolicy } from '../services/api/src/auth/policy.ts';
import { StaticTokens } from '../services/api/src/auth/static-tokens.ts';
import { tuneV8ForServing } from '../services/api/src/v8-tuning.ts';

/** The bearer token of the authenticated variant, from the bench (a static token, checked like any other). */
const BENCH_TOKEN = process.env.BENCH_TOKEN ?? 'bench-token-0123456789abcdef';

const [redisUrl, ...prefixes] = process.argv.slice(2) as [string, ...string[]];
// As the API's main.ts does; BENCH_API_PRETENURING=1 keeps V8's default, to compare the two in one session.
if (process.env.BENCH_API_PRETENURING !== '1') tuneV8ForServing();
// BENCH_API_LOG_LEVEL (e.g. info): the API apps' logs, on stderr; silent by default.
const logLevel = process.env.BENCH_API_LOG_LEVEL;
const log = logLevel
  ? createLogger('bench-api', { level: logLevel, destination: process.stderr })
  : silentLogger();
// BENCH_REDIS=replica (bench/lib/infra.ts): reads from the replica, writes to the primary, as REDIS_READ_URL.
const readUrl = process.env.BENCH_REDIS_READ_URL;
const apis = [];
for (const prefix of prefixes) {
  const redis = connectRedis(readUrl ?? redisUrl, log, 'bench-api', { failFast: true });
  const writeRedis = readUrl ? connectRedis(redisUrl, log, 'bench-api-write', { failFast: true }) : redis;
  const api = await buildApp({ redis, writeRedis, redisPrefix: prefix, log, rateLimitPerMinute: 0 });
  await api.listen({ host: '127.0.0.1', port: 0 });
  apis.push(api);
}
// The authenticated variant: the last (largest) catalog again, closed to anonymous callers; the token's user
// sees every source (they have no spec.access), through the same audience machinery as any tenant.
const authedRedis = connectRedis(redisUrl, log, 'bench-api-auth', { failFast: true });
const authed = await buildApp({
  redis: authedRedis,
  redisPrefix: prefixes.at(-1)!,
  log,
  rateLimitPerMinute: 0,
  auth: {
    authenticator: new Authenticator({
      anonymous: 'off',
      tokens: new StaticTokens([{ token: BENCH_TOKEN, user: 'bench', groups: ['bench'] }]),
    }),
    defaultAccess: 'authenticated',
    policy: new WritePolicy(),
  },
});
await authed.listen({ host: '127.0.0.1', port: 0 });
const bare = Fastify();
bare.get('/bare', async () => ({ items: [], total: 0 }));
// Heap after a full GC (the process runs with --expose-gc): what the API's in-memory search mirror costs.
bare.get('/heap', async () => {
  (globalThis as { gc?: () => void }).gc?.();
  return { heapUsedMB: Math.round(process.memoryUsage().heapUsed / 1e6) };
});
// A CPU profile of one phase, on the bench's ask: POST starts it, DELETE writes it to the file named in the body.
const inspector = new Session();
inspector.connect();
bare.post('/profile', async () => {
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.setSamplingInterval', { interval: 100 }); // µs: a search takes a few ms
  await inspector.post('Profiler.start');
  return { profiling: true };
});
bare.delete<{ Querystring: { file: string } }>('/profile', async (req) => {
  const { profile } = await inspector.post('Profiler.stop');
  await writeFile(req.query.file, JSON.stringify(profile));
  return { written: req.query.file };
});
// A sampling heap profile of one phase, on the bench's ask: POST starts it, DELETE writes it to the file named.
// What it holds is what the phase allocated and the collector had not freed when it ended: objects that
// outlived scavenges and were promoted show here until a major GC takes them.
// `?all=1`: every allocation sampled is kept, collected or not (what each site allocates, not what survives).
// `?all=major`: what outlived the scavenges it met, freed by a major GC or not (the promoted garbage, by site).
bare.post<{ Querystring: { all?: string } }>('/heap-profile', async (req) => {
  const all = req.query.all === '1';
  await inspector.post('HeapProfiler.enable');
  await inspector.post('HeapProfiler.startSampling', {
    samplingInterval: 16384,
    includeObjectsCollectedByMajorGC: all || req.query.all === 'major',
    includeObjectsCollectedByMinorGC: all,
  });
  return { sampling: true };
});
bare.delete<{ Querystring: { file: string } }>('/heap-profile', async (req) => {
  // Read before stopping: stopping collects all garbage first, and the promoted garbage is what is looked for.
  const { profile } = await inspector.post('HeapProfiler.getSamplingProfile');
  await inspector.post('HeapProfiler.stopSampling');
  await writeFile(req.query.file, JSON.stringify(profile));
  return { written: req.query.file };
});
// Garbage collection pauses since the last ask, by kind: what a phase's tail latencies may owe to the collector.
const pauses = { major: [] as number[], minor: [] as number[], other: [] as number[] };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    const of =
      kind === constants.NODE_PERFORMANCE_GC_MAJOR
        ? pauses.major
        : kind === constants.NODE_PERFORMANCE_GC_MINOR
          ? pauses.minor
          : pauses.other; // incremental marking steps, weak callbacks
    of.push(e.duration);
  }
}).observe({ entryTypes: ['gc'] });
bare.get('/gc', async () => {
  const of = (xs: number[]) => ({
    count: xs.length,
    totalMs: Math.round(xs.reduce((a, b) => a + b, 0)),
    maxMs: Math.round(Math.max(0, ...xs)),
  });
  const out = { major: of(pauses.major), minor: of(pauses.minor), other: of(pauses.other) };
  pauses.major = [];
  pauses.minor = [];
  pauses.other = [];
  return out;
});
let stored = '{}';
bare.put('/bare-sized', async (req) => {
  stored = JSON.stringify(req.body);
  return { bytes: stored.length };
});
bare.get('/bare-sized', async (_req, reply) => reply.type('application/json; charset=utf-8').send(stored));
await bare.listen({ host: '127.0.0.1', port: 0 });
const port = (a: { server: { address: () => unknown } }) => (a.server.address() as { port: number }).port;
console.log(JSON.stringify({ apis: apis.map(port), bare: port(bare), authed: port(authed) }));
// A normal exit on the bench's kill, so `--cpu-prof` (NODE_OPTIONS) can write the API's profile.
process.on('SIGTERM', () => process.exit(0));
