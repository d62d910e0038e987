/**
 * The benches' servers, chosen by environment, so each bench runs unchanged on a single server or scaled out
 * (issue 20): `BENCH_NATS=single|cluster` (cluster: three nats-server nodes, every stream R3) and
 * `BENCH_REDIS=single|replica` (replica: a primary and a read replica, `redisReadUrl` for the API's
 * REDIS_READ_URL). `stop()` prints what each server process cost (CPU seconds, peak RSS, from /proc) before it
 * stops them: that is the per-replica cost docs/performance.md records.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { startNats, startRedis, type LocalServer } from '../../scripts/lib/servers.ts';
import { startNatsCluster } from '../../test/harness/nats-cluster.ts';
import { waitFor } from '../../test/harness/index.ts';

export interface ServerCost {
  name: string;
  pid: number;
  cpuSeconds: number;
  peakRssMB: number;
}

export interface BenchInfra {
  /** e.g. `nats=cluster(3 nodes, R3) redis=replica`, for the bench's output. */
  label: string;
  /** The primary's URL and `destroy` (= stop): the benches that only need a Redis use this like a LocalServer. */
  url: string;
  destroy: () => Promise<void>;
  /** The Redis every writer uses (the primary). */
  redis: LocalServer;
  /** The single server, or the cluster's first node (its url and port). */
  nats: LocalServer;
  /** Every NATS client URL (NATS_URL). */
  natsUrls: string[];
  /** NATS_STREAM_REPLICAS for every service. */
  streamReplicas: number;
  /** The read replica (REDIS_READ_URL), when BENCH_REDIS=replica. */
  redisReadUrl: string | undefined;
  costs: () => ServerCost[];
  stop: () => Promise<void>;
}

function mode<T extends string>(name: string, values: readonly T[]): T {
  const v = (process.env[name] ?? values[0]!) as T;
  if (!values.includes(v)) throw new Error(`${name}=${v}: expected one of ${values.join(', ')}`);
  return v;
}

/** Pids of the server processes whose command line holds `marker` (redis titles itself `… 127.0.0.1:port`). */
function pidsWith(marker: (args: string[]) => boolean): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const args = readFileSync(`/proc/${d}/cmdline`, 'utf8').split(/\0/).filter(Boolean);
        return /(redis|nats)-server/.test(args[0] ?? '') && marker(args);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function costOf(name: string, pid: number): ServerCost {
  // /proc/<pid>/stat: utime and stime are fields 14 and 15 (clock ticks, 100 per second on Linux), counted
  // after the command name's closing parenthesis.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { name, pid, cpuSeconds: ticks / 100, peakRssMB: Number(hwm?.[1] ?? 0) / 1024 };
}

async function redisPid(url: string): Promise<number> {
  const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await c.connect();
    return Number(/process_id:(\d+)/.exec(await c.info('server'))![1]);
  } finally {
    c.disconnect();
  }
}

export function formatCosts(costs: ServerCost[]): string {
  return costs
    .map((c) => `${c.name} ${c.cpuSeconds.toFixed(1)} CPU-s, peak RSS ${c.peakRssMB.toFixed(0)} MB`)
    .join('; ');
}

/** The setup named by BENCH_NATS and BENCH_REDIS, or `modes` (the scale-out test asks for one explicitly). */
export async function startBenchInfra(
  modes: { nats: 'single' | 'cluster'; redis: 'single' | 'replica' } = {
    nats: mode('BENCH_NATS', ['single', 'cluster'] as const),
    redis: mode('BENCH_REDIS', ['single', 'replica'] as const),
  },
): Promise<BenchInfra> {
  const { nats: natsMode, redis: redisMode } = modes;
  const redis = await startRedis();
  const replica = redisMode === 'replica' ? await startRedis({ replicaOf: redis.port }) : undefined;
  if (replica) {
    const c = new Redis(replica.url, { maxRetriesPerRequest: 1 });
    await waitFor(async () => (await c.info('replication')).includes('master_link_status:up'), {
      what: 'redis replica linked to its primary',
      timeoutMs: 20_000,
    });
    c.disconnect();
  }
  const servers: { name: string; pid: number }[] = [
    { name: 'redis primary', pid: await redisPid(redis.url) },
    ...(replica ? [{ name: 'redis replica', pid: await redisPid(replica.url) }] : []),
  ];
  let nats: LocalServer;
  let natsUrls: string[];
  if (natsMode === 'cluster') {
    const cluster = await startNatsCluster(3);
    const first = cluster.nodes[0]!;
    const port = Number(new URL(first.url).port);
    nats = {
      url: first.url,
      port,
      dataDir: '',
      start: () => Promise.all(cluster.nodes.map((n) => n.start())).then(() => undefined),
      stop: () => Promise.all(cluster.nodes.map((n) => n.kill9())).then(() => undefined),
      restart: () => Promise.reject(new Error('restart a cluster node by node')),
      destroy: cluster.destroy,
    };
    natsUrls = cluster.urls;
    for (const n of cluster.nodes)
      servers.push({ name: `nats ${n.name}`, pid: pidsWith((a) => a.includes(n.configFile))[0]! });
  } else {
    nats = await startNats();
    natsUrls = [nats.url];
    servers.push({ name: 'nats', pid: pidsWith((a) => a.includes(String(nats.port)))[0]! });
  }
  const costs = () => servers.map((s) => costOf(s.name, s.pid));
  // bench/search-server.ts (a child process inheriting this environment) reads from the replica through it.
  if (replica) process.env.BENCH_REDIS_READ_URL = replica.url;
  const label = `nats=${natsMode === 'cluster' ? 'cluster(3 nodes, R3)' : 'single'} redis=${redisMode}`;
  console.log(`infrastructure: ${label}`);
  const stop = async () => {
    console.log(`server costs (${label}): ${formatCosts(costs())}`);
    await Promise.all([redis.destroy(), nats.destroy(), replica?.destroy()]);
  };
  return {
    label,
    url: redis.url,
    destroy: stop,
    redis,
    nats,
    natsUrls,
    streamReplicas: natsMode === 'cluster' ? 3 : 1,
    redisReadUrl: replica?.url,
    costs,
    stop,
  };
}
