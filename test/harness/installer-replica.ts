/**
 * One installer replica in a process of its own, for suites and benchmarks that kill a replica (SIGKILL: no
 * shutdown, its leases and messages left as a crash leaves them) or that want replicas on their own event loop.
 * Started by `spawnInstallerReplica`; every 200 ms it prints one JSON line with the partitions it consumes and
 * its push retries; SIGTERM stops it gracefully (its partitions handed over).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connectJetStream, connectRedis } from '@profiles/shared';
import { spawnGuarded, type Guarded } from '../../scripts/lib/processes.ts';
import { start } from '../../services/installer/src/start.ts';
import { testLogger } from './index.ts';
import { EXAMPLES_URL } from './installer.ts';

export interface ReplicaState {
  partitions: number[];
  pushRetries: number;
  handled: number;
}

export interface InstallerReplica {
  /** Its last report (empty partitions until it printed one). */
  state: () => ReplicaState;
  /** SIGKILL of the whole process group: a crash. */
  kill: () => Promise<void>;
  stop: () => Promise<void>;
  proc: Guarded;
}

export function spawnInstallerReplica(o: {
  redisUrl: string;
  natsUrl: string;
  prefix: string;
  examples: string;
  concurrency?: number;
}): InstallerReplica {
  const proc = spawnGuarded(process.execPath, ['--import', 'tsx', import.meta.filename], {
    env: {
      ...process.env,
      REPLICA_REDIS_URL: o.redisUrl,
      REPLICA_NATS_URL: o.natsUrl,
      REPLICA_PREFIX: o.prefix,
      REPLICA_EXAMPLES: o.examples,
      REPLICA_CONCURRENCY: String(o.concurrency ?? 8),
    },
    stdout: 'pipe',
    stderr: 'inherit',
  });
  let state: ReplicaState = { partitions: [], pushRetries: 0, handled: 0 };
  createInterface({ input: proc.child.stdout! }).on('line', (l) => {
    if (l.startsWith('{"partitions"')) state = JSON.parse(l) as ReplicaState;
  });
  return {
    state: () => state,
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
  const h = await connectJetStream([env.REPLICA_NATS_URL!], log, 'installer-replica');
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
  const report = () =>
    process.stdout.write(
      `${JSON.stringify({ partitions: ins.partitions(), pushRetries: ins.pushRetries(), handled: ins.handled() })}\n`,
    );
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
