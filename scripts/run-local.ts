/**
 * `npm start`: the whole system on one machine. Starts a private redis-server and nats-server (unless
 * REDIS_URL / NATS_URL point at existing ones), then the four compiled services (built first when a source is
 * newer than its bundle) over the example catalog folder, and prints the API URL. Ctrl-C stops everything; every child runs under a guard, so none outlives this script.
 */
import { mkdir, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { buildAll } from './build.ts';
import { spawnGuarded, type Guarded } from './lib/processes.ts';
import { startNats, startRedis, type LocalServer } from './lib/servers.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SERVICES = ['indexer', 'api', 'watcher', 'installer'] as const;
const servers: LocalServer[] = [];
const children: { name: string; proc: Guarded }[] = [];
let stopping = false;

const LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** Pino JSON lines, made readable: `[api] info  api listening url=http://...`. */
function pretty(name: string, line: string): string {
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    const { level, msg, time: _t, pid: _p, hostname: _h, service: _s, name: _n, ...rest } = o;
    const extras = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `[${name}] ${(LEVELS[level as number] ?? String(level)).padEnd(5)} ${String(msg ?? '')}${extras ? '  ' + extras : ''}`;
  } catch {
    return `[${name}] ${line}`;
  }
}

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log('\nstopping...');
    await Promise.all(children.map((c) => c.proc.stop(8_000)));
    await Promise.all(servers.map((s) => s.destroy()));
  }
  process.exit(code);
}

async function main(): Promise<void> {
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  const env: NodeJS.ProcessEnv = { ...process.env };
  env.WATCH_DIR = resolve(env.WATCH_DIR ?? join(root, 'examples/catalog-sources'));
  env.API_PORT ??= '8080';
  env.API_HOST ??= '127.0.0.1';
  // A local run may scan and install from repositories on this machine (file://); a cluster deployment may not.
  env.REPO_ALLOW_FILE ??= 'true';
  const dataRoot = join(root, '.local');
  await mkdir(dataRoot, { recursive: true });
  if (!env.REDIS_URL) {
    await rm(join(dataRoot, 'redis'), { recursive: true, force: true });
    await mkdir(join(dataRoot, 'redis'));
    const redis = await startRedis({ dataDir: join(dataRoot, 'redis') });
    servers.push(redis);
    env.REDIS_URL = redis.url;
    console.log(`started redis-server at ${redis.url}`);
  }
  if (!env.NATS_URL) {
    await rm(join(dataRoot, 'nats'), { recursive: true, force: true });
    await mkdir(join(dataRoot, 'nats'));
    const nats = await startNats({ dataDir: join(dataRoot, 'nats') });
    servers.push(nats);
    env.NATS_URL = nats.url;
    console.log(`started nats-server at ${nats.url}`);
  }
  // The services run compiled, as in production; a source changed since the last build is built first.
  const built = await buildAll({ ifStale: true });
  if (built.length) console.log(`built ${built.join(', ')}`);
  for (const name of SERVICES) {
    const proc = spawnGuarded(
      process.execPath,
      ['--enable-source-maps', join(root, 'services', name, 'dist/main.js')],
      {
        env,
        cwd: root,
        stdout: 'pipe',
        stderr: 'pipe',
      },
    );
    for (const stream of [proc.child.stdout, proc.child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (l) => console.log(pretty(name, l)));
    }
    void proc.exited.then((code) => {
      if (stopping) return;
      console.error(`[${name}] exited with code ${code}; stopping everything`);
      void shutdown(1);
    });
    children.push({ name, proc });
  }
  const url = `http://${env.API_HOST === '0.0.0.0' ? '127.0.0.1' : env.API_HOST}:${env.API_PORT}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !stopping) {
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) {
      console.log(
        `\nProfiles API: ${url}   (try ${url}/v1/profiles)\nwatching ${env.WATCH_DIR}; Ctrl-C stops everything\n`,
      );
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!stopping) {
    console.error(`the API did not become ready at ${url} within 30 s`);
    await shutdown(1);
  }
}

main().catch((err: unknown) => {
  console.error(`cannot start: ${(err as Error).message}`);
  void shutdown(1);
});
