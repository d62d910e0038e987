/**
 * One installer replica in a process of its own, for suites and benchmarks that kill a replica (SIGKILL: no
 * shutdown, its leases and messages left as a crash leaves them) or that want replicas on their own event loop.
 * Started by `spawnInstallerReplica`; every 200 ms it prints one JSON line with the partitions it consumes and
 * its push retries; SIGTERM stops it gracefully (its partitions handed over).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { connectRedis } from '@profiles/shared/runtime';
import { connectJetStream } from '@profiles/shared/runtime';
import { spawnGuarded, type Guarded } from '../../scripts/lib/processes.ts';
import { start } from '../../services/installer/src/start.ts';
import { getJson, testLogger, type Stack } from './index.ts';
import { EXAMPLES_URL } from './installer.ts';

/**
 * Asks the API at `api` to install bitnami-nginx v0.0.2 from `examples` as `name` into its own folder
 * (`apps/<name>`) of the repository `repo`; answers the installation id (throws unless 202).
 */
export async function submitSimpleInstall(
  api: string,
  examples: string,
  repo: string,
  name: string,
): Promise<string> {
  const r = await getJson(`${api}/v1/installations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name,
      namespace: 'default',
      profile: { url: `file://${examples}`, tag: 'bitnami-nginx/v0.0.2' },
      target: { url: `file://${repo}`, branch: 'main', path: `apps/${name}` },
    }),
  });
  if (r.status !== 202) throw new Error(`install request answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body.id as string;
}

export interface ReplicaState {
  partitions: number[];
  pushRetries: number;
  handled: number;
  /** The longest its event loop was held in the report's 200 ms (benchmarks: what installs wait for there). */
  loopDelayMs?: number;
}

export interface InstallerReplica {
  /** Its last report (empty partitions until it printed one). */
  state: () => ReplicaState;
  /** Every report's event loop delay, with when it arrived (performance.now() of this process). */
  loopDelays: { at: number; ms: number }[];
  /** SIGKILL of the whole process group: a crash. */
  kill: () => Promise<void>;
  stop: () => Promise<void>;
  proc: Guarded;
}

/** A replica on the stack's servers, installing from the `examples` fixture; INSTALLER_CONCURRENCY `concurrency`. */
export function spawnInstallerReplica(stack: Stack, examples: string, concurrency = 8): InstallerReplica {
  const proc = spawnGuarded(process.execPath, ['--import', 'tsx', import.meta.filename], {
    env: {
      ...process.env,
      REPLICA_REDIS_URL: stack.redis.url,
      REPLICA_NATS_URL: stack.natsUrls.join(','),
      REPLICA_STREAM_REPLICAS: String(stack.streamReplicas),
      REPLICA_PREFIX: stack.prefix,
      REPLICA_EXAMPLES: examples,
      REPLICA_CONCURRENCY: String(concurrency),
    },
    stdout: 'pipe',
    stderr: 'inherit',
  });
  let state: ReplicaState = { partitions: [], pushRetries: 0, handled: 0 };
  const loopDelays: { at: number; ms: number }[] = [];
  createInterface({ input: proc.child.stdout! }).on('line', (l) => {
    if (!l.startsWith('{"partitions"')) return;
    state = JSON.parse(l) as ReplicaState;
    if (state.loopDelayMs !== undefined) loopDelays.push({ at: performance.now(), ms: state.loopDelayMs });
  });
  return {
    state: () => state,
    loopDelays,
    kill: async () => {
      if (proc.child.pid) process.kill(-proc.child.pid, 'SIGKILL');
      await proc.exited;
    },
    stop: () => proc.stop(15_000),
    proc,
  };
}

async function main(): Promise<void> {
  const env = process.env;
  const log = testLogger('installer-replica');
  const h = await connectJetStream(env.REPLICA_NATS_URL!.split(','), log, 'installer-replica', undefined, {
    streamReplicas: Number(env.REPLICA_STREAM_REPLICAS ?? 1),
  });
  const redis = connectRedis(env.REPLICA_REDIS_URL!, log, 'installer', { autoPipelining: false });
  const workDir = await mkdtemp(join(tmpdir(), 'installer-replica-'));
  const ins = await start({
    js: h.js,
    jsm: h.jsm,
    nc: h.nc,
    redis,
    redisPrefix: env.REPLICA_PREFIX!,
    log,
    workDir,
    concurrency: Number(env.REPLICA_CONCURRENCY),
    gitUrlRewrites: [`${EXAMPLES_URL}=file://${env.REPLICA_EXAMPLES}`],
    urlPolicy: { allowFile: true, denyHosts: ['169.254.'], allowLoopback: true },
  });
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const report = () => {
    const state: ReplicaState = {
      partitions: ins.partitions(),
      pushRetries: ins.pushRetries(),
      handled: ins.handled(),
      loopDelayMs: Math.round(loop.max / 1e5) / 10,
    };
    loop.reset();
    process.stdout.write(`${JSON.stringify(state)}\n`);
  };
  const timer = setInterval(report, 200);
  report();
  process.once('SIGTERM', () => {
    clearInterval(timer);
    void (async () => {
      await ins.stop();
      await h.nc.drain();
      redis.disconnect();
      await rm(workDir, { recursive: true, force: true });
      process.exit(0);
    })();
  });
}

if (process.env.REPLICA_REDIS_URL && import.meta.filename === process.argv[1]) await main();
