/**
 * The whole system on real servers for faults under load: a NATS cluster of three (streams R3), a Redis
 * primary with a replica behind a forwarder, the four services as separate processes, a folder of catalog
 * sources and GitOps repositories whose hooks can hold a push (to kill the installer in the middle of one).
 * `runScenario` drives catalog writes and install requests through one fault and measures the way back.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectJetStream, type JetStreamHandles } from '@profiles/shared/runtime';
import { buildAll } from '../../scripts/build.ts';
import { testLogger } from './index.ts';
import { examplesRepo, gitopsRepo } from './installer.ts';
import { CatalogLoad, InstallLoad, catalogDifference, catalogOf, type InstallOutcome } from './load.ts';
import { startNatsCluster, type NatsCluster } from './nats-cluster.ts';
import { startRedisPair, type RedisPair } from './redis-failover.ts';
import { localServiceEnv, serviceProcess, type ServiceProcess } from './service-process.ts';
import { SERVICE_NAMES, type ServiceName } from './services.ts';

export interface FaultRig {
  nats: NatsCluster;
  redis: RedisPair;
  services: Record<ServiceName, ServiceProcess>;
  api: string;
  js: JetStreamHandles;
  catalog: CatalogLoad;
  installs: InstallLoad;
  /** Arms the hook of every target repository: the next push waits in `pre-receive` (before the ref moves)
   * or `post-receive` (after); resolves when a push is held there. */
  holdNextPush: (when: 'pre-receive' | 'post-receive') => Promise<void>;
  destroy: () => Promise<void>;
}

const HOOK_HOLD_S = 20;

/** A hook that, when armed (`armed/<hook>` exists), takes the arm (mv is atomic: one push wins), says so and waits. */
function holdingHook(repo: string, hook: string, armDir: string): void {
  const path = join(repo, 'hooks', hook);
  writeFileSync(
    path,
    `#!/bin/sh\ncat >/dev/null\nif mv "${armDir}/${hook}" "${armDir}/${hook}.held" 2>/dev/null; then sleep ${HOOK_HOLD_S}; fi\nexit 0\n`,
  );
  chmodSync(path, 0o755);
}

export async function startFaultRig(opts: { sources: number; targets: number }): Promise<FaultRig> {
  await buildAll({ ifStale: true });
  const dir = await mkdtemp(join(tmpdir(), 'fault-rig-'));
  const [nats, redis] = await Promise.all([startNatsCluster(3), startRedisPair()]);
  const watchDir = join(dir, 'sources');
  const armDir = join(dir, 'armed');
  mkdirSync(watchDir);
  mkdirSync(armDir);
  const examples = examplesRepo(dir);
  const targets = Array.from({ length: opts.targets }, (_, i) => {
    const repo = gitopsRepo(dir, `gitops-${i}`);
    for (const hook of ['pre-receive', 'post-receive']) holdingHook(repo, hook, armDir);
    return repo;
  });
  const env: NodeJS.ProcessEnv = {
    ...localServiceEnv({ redisUrl: redis.url, natsUrl: nats.urls.join(','), watchDir, examples, dir }),
    NATS_STREAM_REPLICAS: '3',
  };

  const services = {} as Record<ServiceName, ServiceProcess>;
  for (const name of SERVICE_NAMES) services[name] = await serviceProcess(name, env);
  // The API first: it declares the streams R3 before the others look at them.
  for (const name of ['api', 'indexer', 'watcher', 'installer'] as const) await services[name].start();
  const js = await connectJetStream(nats.urls, testLogger('rig'), 'rig', undefined, { streamReplicas: 3 });
  const catalog = new CatalogLoad(watchDir, opts.sources);
  const installs = new InstallLoad(
    () => services.api.url,
    { url: `file://${examples}`, tag: 'bitnami-nginx/v0.0.2' },
    targets,
  );
  return {
    nats,
    redis,
    services,
    api: services.api.url,
    js,
    catalog,
    installs,
    holdNextPush: async (hook) => {
      writeFileSync(join(armDir, hook), '');
      const deadline = Date.now() + 60_000;
      while (!existsSync(join(armDir, `${hook}.held`))) {
        if (Date.now() > deadline) throw new Error(`no push reached ${hook} within 60 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
      await rm(join(armDir, `${hook}.held`));
    },
    destroy: async () => {
      await catalog.stop();
      await installs.stop();
      await Promise.all(Object.values(services).map((s) => s.stop()));
      await js.nc.close().catch(() => undefined);
      await Promise.all([nats.destroy(), redis.destroy()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface Fault {
  name: string;
  /** Breaks something, under load. */
  inject: (rig: FaultRig) => Promise<void>;
  /** Puts it back (a killed process restarted); absent when the system must heal by itself. */
  repair?: (rig: FaultRig) => Promise<void>;
  /** Injected only once an install of the scenario is final: a fault that could lose what had finished. */
  afterAFinalInstall?: boolean;
}

export interface ScenarioTiming {
  /** Load before the fault, time broken (under load) and load after the repair. */
  warmupMs: number;
  brokenMs: number;
  afterMs: number;
  writeIntervalMs: number;
  installIntervalMs: number;
  /** Bound on the way back to consistent (the test fails beyond it). */
  timeoutMs: number;
}

export interface ScenarioResult {
  name: string;
  writes: number;
  /** From the repair (or the fault, when nothing is repaired) until the catalog equals the folder. */
  repairToConsistentMs: number;
  /** From the last write until the catalog equals the folder. */
  lastWriteToConsistentMs: number;
  /** Catalog entries still different at the end (missing or stale): events lost. */
  catalogDifference: number;
  /** From the repair until every accepted install has a final status. */
  installsSettledMs: number;
  installs: InstallOutcome;
  /** Installs of the scenario with a final status when the fault was injected. */
  finalBeforeFault: number;
  postRetries: number;
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

export async function runScenario(rig: FaultRig, fault: Fault, t: ScenarioTiming): Promise<ScenarioResult> {
  const idsBefore = new Set(rig.installs.accepted.keys());
  const writesBefore = rig.catalog.writes;
  const retriesBefore = rig.installs.retries;
  rig.catalog.start(t.writeIntervalMs);
  rig.installs.start(t.installIntervalMs);
  await new Promise((r) => setTimeout(r, t.warmupMs));
  const scenarioIds = () => [...rig.installs.accepted.keys()].filter((id) => !idsBefore.has(id));
  if (fault.afterAFinalInstall)
    await until(async () => (await rig.installs.final(scenarioIds())).length > 0, t.timeoutMs);
  const finalBeforeFault = (await rig.installs.final(scenarioIds())).length;
  await fault.inject(rig);
  if (fault.repair) {
    await new Promise((r) => setTimeout(r, t.brokenMs));
    await fault.repair(rig);
  }
  const repairedAt = Date.now();
  await new Promise((r) => setTimeout(r, t.afterMs));
  await rig.catalog.stop();
  await rig.installs.stop();
  const expected = rig.catalog.list();
  const consistent = await until(
    async () => catalogDifference(await catalogOf(rig.api), expected) === 0,
    t.timeoutMs,
  );
  const consistentAt = Date.now();
  const ids = scenarioIds();
  const settled = await until(async () => (await rig.installs.unsettled(ids)).length === 0, t.timeoutMs);
  const settledAt = Date.now();
  const actual = await catalogOf(rig.api).catch(() => [] as string[]);
  return {
    name: fault.name,
    writes: rig.catalog.writes - writesBefore,
    repairToConsistentMs: consistent ? consistentAt - repairedAt : Number.NaN,
    lastWriteToConsistentMs: consistent ? consistentAt - rig.catalog.lastWriteAt : Number.NaN,
    catalogDifference: catalogDifference(actual, expected),
    installsSettledMs: settled ? settledAt - repairedAt : Number.NaN,
    installs: await rig.installs.outcome(ids),
    finalBeforeFault,
    postRetries: rig.installs.retries - retriesBefore,
  };
}

/** Every fault of the suite, in an order that leaves the rig usable for the next (the failover is last). */
export function faults(): Fault[] {
  const kill = (name: ServiceName): Fault => ({
    name: `kill -9 ${name}`,
    inject: (rig) => rig.services[name].kill9(),
    repair: (rig) => rig.services[name].start(),
  });
  return [
    { name: 'none (baseline)', inject: async () => undefined },
    ...SERVICE_NAMES.map(kill),
    {
      name: 'installer killed mid-push (before the ref moves)',
      inject: async (rig) => {
        await rig.holdNextPush('pre-receive');
        await rig.services.installer.kill9();
      },
      repair: (rig) => rig.services.installer.start(),
    },
    {
      name: 'installer killed mid-push (after the ref moved)',
      inject: async (rig) => {
        await rig.holdNextPush('post-receive');
        await rig.services.installer.kill9();
      },
      repair: (rig) => rig.services.installer.start(),
    },
    {
      name: 'redis restarted wiped',
      inject: (rig) => rig.redis.restartWiped(),
      // So that the wipe takes statuses of finished installs with it (kept in JetStream, restored by the API).
      afterAFinalInstall: true,
    },
    {
      name: 'nats stream leader killed (cluster of 3, R3)',
      inject: async (rig) => {
        const leader = await rig.nats.leaderOf(rig.js.jsm, 'PROFILES_SOURCES');
        await rig.nats.nodes.find((n) => n.name === leader)!.kill9();
      },
      repair: async (rig) => {
        for (const n of rig.nats.nodes) if (!n.running()) await n.start();
      },
    },
    { name: 'redis replica promoted (primary killed)', inject: (rig) => rig.redis.failover() },
  ];
}
