/**
 * Sharded installs benchmark (`npm run bench:install-sharding`): real redis-server, nats-server, the API in this
 * process and two installer replicas in processes of their own (test/harness/installer-replica.ts), eight GitOps
 * bare repositories over file://; the profile is bitnami-nginx v0.0.2 (one artifact), each install in its own
 * folder.
 *
 *   1. throughput: BENCH_BURST installs per repository submitted at once into all eight; installs/s from the
 *      first request to the last commit, push retries, installs lost (not committed), duplicate commits
 *      (`Profiles-Installation-Id` trailers counted in every repository).
 *   2. isolation: seven quiet repositories, one install in flight each (closed loop, BENCH_QUIET per repository
 *      and round), alone (baseline) and while the eighth repository has BENCH_BUSY installs queued; rounds
 *      alternate so that the machine's load falls on both; goal: the quiet installs' p99 under load within 2x
 *      of their p99 alone. Each quiet install's time is also split by the installer's stage times: queued
 *      (createdAt → startedAt), rendering (→ renderedAt), committing (→ the last updatedAt).
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { INSTALL_PARTITIONS, installPartition, type InstallationDoc } from '@profiles/shared';
import { startStack, waitFor } from '../test/harness/index.ts';
import { startBenchInfra } from './lib/infra.ts';
import { examplesRepo, gitopsRepo, gitSync, startInstallerStack } from '../test/harness/installer.ts';
import { spawnInstallerReplica, submitSimpleInstall } from '../test/harness/installer-replica.ts';

const BURST = Number(process.env.BENCH_BURST ?? 25);
const QUIET = Number(process.env.BENCH_QUIET ?? 6);
const BUSY = Number(process.env.BENCH_BUSY ?? 150);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

/** A final install status, with its time from request to commit and that time's stages. */
interface Settled {
  status: string;
  ms: number;
  stages: { queued: number; rendering: number; committing: number };
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const loadBefore = load();
const stack = await startStack({ servers: await startBenchInfra() });
const dir = await stack.tempDir('install-sharding-bench-');
const examples = examplesRepo(dir);
const ins = await startInstallerStack(stack, examples, 0);
const spawn = () => spawnInstallerReplica(stack, examples, CONCURRENCY);
const replicas = [spawn(), spawn()];
try {
  await waitFor(() => replicas.every((r) => r.state().partitions.length === INSTALL_PARTITIONS / 2), {
    timeoutMs: 60_000,
    intervalMs: 100,
    what: 'two replicas sharing the partitions',
  });
  const repos = Array.from({ length: 8 }, (_, i) => gitopsRepo(dir, `repo-${i}`));
  const owners = repos.map((r) => {
    const p = installPartition(`file://${r}`);
    return `p${p}:${replicas.findIndex((x) => x.state().partitions.includes(p)) === 0 ? 'A' : 'B'}`;
  });

  let n = 0;
  const submit = (repo: string) => submitSimpleInstall(ins.api, examples, repo, `b-${n++}`);
  // Statuses are read from Redis in one MGET per poll (polling each id through the API would cost more CPU
  // than the installs); an install's time is its status document's, from the API's `createdAt` to the
  // installer's last `updatedAt`.
  const docKey = (id: string) => `${stack.prefix}installation:${id}`;
  const settleAll = async (ids: string[], intervalMs: number) => {
    const done = new Map<string, Settled>();
    while (done.size < ids.length) {
      const left = ids.filter((id) => !done.has(id));
      const raw = await ins.redis.mget(left.map(docKey));
      left.forEach((id, i) => {
        const d = JSON.parse(raw[i] ?? '{}') as Partial<InstallationDoc>;
        if (d.status === 'committed' || d.status === 'failed') {
          const [created, started, rendered, updated] = [
            d.createdAt,
            d.startedAt,
            d.renderedAt,
            d.updatedAt,
          ].map((t) => Date.parse(t ?? '')) as [number, number, number, number];
          done.set(id, {
            status: d.status,
            ms: updated - created,
            stages: {
              queued: started - created,
              rendering: rendered - started,
              committing: updated - rendered,
            },
          });
        }
      });
      if (done.size < ids.length) await new Promise((r) => setTimeout(r, intervalMs));
    }
    return ids.map((id) => done.get(id)!);
  };
  // Each quiet install's stages, by phase: where the time beside a busy repository goes.
  const stagesOf: Record<'alone' | 'loaded', Settled['stages'][]> = { alone: [], loaded: [] };
  let phaseNow: 'alone' | 'loaded' | undefined;
  const installOnce = async (repo: string): Promise<number> => {
    const [r] = await settleAll([await submit(repo)], 10);
    if (r!.status !== 'committed') throw new Error(`install ${r!.status}`);
    if (phaseNow) stagesOf[phaseNow].push(r!.stages);
    return r!.ms;
  };
  const retries = () => replicas.reduce((s, r) => s + r.state().pushRetries, 0);

  // Warm-up: clones, profile cache, connections.
  await Promise.all(repos.map((r) => installOnce(r)));

  // 1. Throughput.
  const retriesBefore = retries();
  const t0 = performance.now();
  const ids = await Promise.all(repos.flatMap((r) => Array.from({ length: BURST }, () => submit(r))));
  const statuses = (await settleAll(ids, 100)).map((r) => r.status);
  const seconds = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 500)); // the replicas' last reports
  const pushRetries = retries() - retriesBefore;
  const lost = statuses.filter((s) => s !== 'committed').length;
  const logs = repos.map((r) => gitSync(['log', '--format=%B', 'main'], r)).join('\n');
  const duplicates = ids.filter(
    (id) => logs.split(`Profiles-Installation-Id: ${id}`).length - 1 !== 1,
  ).length;

  // 2. Isolation: quiet repositories alone, then beside a busy one, alternating.
  const [busy, ...quiet] = repos as [string, ...string[]];
  const quietRound = async () =>
    (
      await Promise.all(
        quiet.map(async (r) => {
          const times: number[] = [];
          for (let i = 0; i < QUIET; i++) times.push(await installOnce(r));
          return times;
        }),
      )
    ).flat();
  const alone: number[] = [];
  const loaded: number[] = [];
  // When each phase ran, to read the replicas' event loop delays of that phase.
  const windows: { alone: [number, number][]; loaded: [number, number][] } = { alone: [], loaded: [] };
  const timed = async (phase: 'alone' | 'loaded') => {
    phaseNow = phase;
    const t0 = performance.now();
    const times = await quietRound();
    windows[phase].push([t0, performance.now()]);
    return times;
  };
  let busyDone = 0;
  for (let round = 0; round < ROUNDS; round++) {
    alone.push(...(await timed('alone')));
    const queued = await Promise.all(Array.from({ length: BUSY }, () => submit(busy)));
    const busyAll = settleAll(queued, 200).then((rs) => rs.map((r) => r.status));
    loaded.push(...(await timed('loaded')));
    busyDone += (await busyAll).filter((s) => s === 'committed').length;
  }

  const q = (xs: number[], p: number) =>
    [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)]!;
  const f = (x: number) => x.toFixed(0);
  const rate = ids.length / seconds;
  const ratio = q(loaded, 0.99) / q(alone, 0.99);
  const mark = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.log(
    `\nsharded installs: 2 installer replicas (INSTALLER_CONCURRENCY ${CONCURRENCY}), 8 repositories, ` +
      `bitnami-nginx v0.0.2; ${INSTALL_PARTITIONS} partitions, repositories on ${owners.join(' ')}`,
  );
  console.log(`load average before ${loadBefore}, after ${load()} (2 cores, shared with other work)`);
  console.log(
    `throughput: ${ids.length} installs (${BURST} per repository at once) in ${seconds.toFixed(1)} s = ` +
      `${rate.toFixed(1)} installs/s   goal >= 20/s: ${mark(rate >= 20)}`,
  );
  console.log(
    `push retries ${pushRetries}, lost ${lost}, duplicate commits ${duplicates}   goal 0/0/0: ` +
      mark(pushRetries + lost + duplicates === 0),
  );
  console.log(
    `quiet repositories alone (baseline, ${alone.length} installs): median ${f(q(alone, 0.5))} ms, ` +
      `p99 ${f(q(alone, 0.99))} ms`,
  );
  console.log(
    `quiet repositories beside a busy one (${BUSY} queued per round, ${busyDone} committed; ${loaded.length} ` +
      `installs): median ${f(q(loaded, 0.5))} ms, p99 ${f(q(loaded, 0.99))} ms = ${ratio.toFixed(2)}x   ` +
      `goal <= 2x: ${mark(ratio <= 2)}`,
  );
  // Where the quiet installs' time went, stage by stage (the installer's startedAt and renderedAt).
  for (const stage of ['queued', 'rendering', 'committing'] as const) {
    const of = (phase: 'alone' | 'loaded') => stagesOf[phase].map((s) => s[stage]);
    console.log(
      `  ${stage.padEnd(10)} alone median ${f(q(of('alone'), 0.5))} / p99 ${f(q(of('alone'), 0.99))} ms; ` +
        `beside the busy one median ${f(q(of('loaded'), 0.5))} / p99 ${f(q(of('loaded'), 0.99))} ms`,
    );
  }
  // Each replica's event loop: the longest it was held in each 200 ms report, over each phase.
  const busyOwner = owners[0]!.endsWith('A') ? 0 : 1;
  replicas.forEach((r, i) => {
    const during = (phase: 'alone' | 'loaded') =>
      r.loopDelays
        .filter(({ at }) => windows[phase].some(([a, b]) => at >= a && at <= b))
        .map(({ ms }) => ms);
    const summary = (xs: number[]) =>
      xs.length
        ? `p50 ${q(xs, 0.5).toFixed(0)} / p99 ${q(xs, 0.99).toFixed(0)} / max ${Math.max(...xs).toFixed(0)} ms`
        : 'none';
    console.log(
      `replica ${i === 0 ? 'A' : 'B'}${i === busyOwner ? ' (the busy repository’s)' : ''}: event loop held, per 200 ms ` +
        `report: alone ${summary(during('alone'))}; beside the busy one ${summary(during('loaded'))}`,
    );
  });
} finally {
  await Promise.all(replicas.map((r) => r.stop()));
  await ins.close();
  await stack.stop();
}
