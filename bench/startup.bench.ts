/**
 * Start-up time and resident memory of each service, run from its TypeScript sources through tsx (how every
 * service ran before `npm run build`) and compiled (`dist/main.js`, how npm start, the image and the manifests
 * run it now), both on the project's Node 24, against private redis-server and nats-server over the example
 * folder. Start-up: from spawn until `/readyz` answers 200. Memory: VmRSS 1 s after ready. Rounds alternate the
 * two ways so that a busy neighbour on a shared machine hurts both alike; figures are medians over the rounds,
 * with the compiled/tsx ratio. `ROUNDS` (default 5).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAll } from '../scripts/build.ts';
import { freePort } from '../scripts/lib/processes.ts';
import { startNats, startRedis } from '../scripts/lib/servers.ts';

const root = join(import.meta.dirname, '..');
const SERVICES = ['watcher', 'indexer', 'api', 'installer'] as const;
const WAYS = {
  tsx: (s: string) => ['--import', 'tsx', join(root, 'services', s, 'src/main.ts')],
  compiled: (s: string) => ['--enable-source-maps', join(root, 'services', s, 'dist/main.js')],
} as const;
type Way = keyof typeof WAYS;
const rounds = Number(process.env.ROUNDS ?? 5);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]);
}

async function startOnce(
  service: string,
  way: Way,
  baseEnv: NodeJS.ProcessEnv,
): Promise<{ ms: number; rssMiB: number }> {
  const port = await freePort();
  const env = { ...baseEnv, API_PORT: String(port), HEALTH_PORT: String(port) };
  const started = performance.now();
  const child = spawn(process.execPath, WAYS[way](service), { cwd: root, env, stdio: 'ignore' });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${service} (${way}) exited with ${child.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (performance.now() - started > 30_000) throw new Error(`${service} (${way}) not ready in 30 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const ms = performance.now() - started;
    await new Promise((r) => setTimeout(r, 1_000));
    return { ms, rssMiB: (await rssKiB(child.pid!)) / 1024 };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

const dataDir = await mkdtemp(join(tmpdir(), 'profiles-startup-'));
const redis = await startRedis({ dataDir });
const nats = await startNats();
try {
  await buildAll({ ifStale: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    REDIS_URL: redis.url,
    NATS_URL: nats.url,
    WATCH_DIR: join(root, 'examples/catalog-sources'),
    REPO_ALLOW_FILE: 'true',
    API_HOST: '127.0.0.1',
    HEALTH_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    INSTALLER_WORK_DIR: join(dataDir, 'installer'),
  };
  const results = new Map<string, { ms: number[]; rssMiB: number[] }>();
  for (let round = 0; round < rounds; round++) {
    const order: Way[] = round % 2 ? ['compiled', 'tsx'] : ['tsx', 'compiled'];
    for (const service of SERVICES) {
      for (const way of order) {
        const r = await startOnce(service, way, env);
        const key = `${service}/${way}`;
        const acc = results.get(key) ?? { ms: [], rssMiB: [] };
        acc.ms.push(r.ms);
        acc.rssMiB.push(r.rssMiB);
        results.set(key, acc);
      }
    }
  }
  console.log(`Node ${process.version}, ${rounds} rounds, medians`);
  console.log('service    | start tsx | start compiled | ratio | RSS tsx  | RSS compiled | ratio');
  for (const s of SERVICES) {
    const t = results.get(`${s}/tsx`)!;
    const c = results.get(`${s}/compiled`)!;
    const [tm, cm, tr, cr] = [median(t.ms), median(c.ms), median(t.rssMiB), median(c.rssMiB)];
    console.log(
      `${s.padEnd(10)} | ${tm.toFixed(0).padStart(6)} ms | ${cm.toFixed(0).padStart(11)} ms | ${(cm / tm).toFixed(2)} | ` +
        `${tr.toFixed(1).padStart(5)} MiB | ${cr.toFixed(1).padStart(8)} MiB | ${(cr / tr).toFixed(2)}`,
    );
  }
} finally {
  await nats.destroy();
  await redis.destroy();
  await rm(dataDir, { recursive: true, force: true });
}
