/**
 * `npm start`: the whole system on one machine. Starts a private redis-server and nats-server (unless
 * REDIS_URL / NATS_URL point at existing ones), builds the local example repositories (scripts/lib/
 * local-repos.ts), then runs the four compiled services (built first when a source is newer than its bundle)
 * over the example catalog folder and prints the API URL and the
 * command that installs an example profile. A service that dies is restarted with backoff. Ctrl-C stops
 * everything: one SIGTERM to each service, which drains; every child runs under a guard, so none outlives us.
 */
import { mkdir, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { buildAll } from './build.ts';
import { ensureLocalRepos, writeCatalogSource, type LocalRepos } from './lib/local-repos.ts';
import { spawnGuarded } from './lib/processes.ts';
import { quickStartText } from './lib/quick-start.ts';
import { startNats, startRedis, type LocalServer } from './lib/servers.ts';
import { supervise, type Supervised } from './lib/supervise.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SERVICES = ['indexer', 'api', 'watcher', 'installer'] as const;
const servers: LocalServer[] = [];
const services: Supervised[] = [];
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

async function shutdown(code: number): Promise<void> {
  if (stopping) {
    // npm and the terminal may both pass on one Ctrl-C: the stop under way already covers it.
    return;
  }
  stopping = true;
  console.log('\nstopping...');
  await Promise.all(services.map((s) => s.stop(10_000)));
  await Promise.all(servers.map((s) => s.destroy()));
  process.exit(code);
}

/** A private server in a fresh folder of .local/, unless the environment names one. */
async function privateServer(
  kind: 'redis' | 'nats',
  dataRoot: string,
  start: (o: { dataDir: string }) => Promise<LocalServer>,
): Promise<string> {
  const dataDir = join(dataRoot, kind);
  await rm(dataDir, { recursive: true, force: true });
  await mkdir(dataDir);
  const server = await start({ dataDir });
  servers.push(server);
  console.log(`started ${kind === 'redis' ? 'redis-server' : 'nats-server'} at ${server.url}`);
  return server.url;
}

function startService(name: (typeof SERVICES)[number], env: NodeJS.ProcessEnv): Supervised {
  return supervise(
    name,
    () => {
      const proc = spawnGuarded(
        process.execPath,
        ['--enable-source-maps', join(root, 'services', name, 'dist/main.js')],
        { env, cwd: root, stdout: 'pipe', stderr: 'pipe' },
      );
      for (const stream of [proc.child.stdout, proc.child.stderr]) {
        if (stream) createInterface({ input: stream }).on('line', (l) => console.log(pretty(name, l)));
      }
      return proc;
    },
    { say: (line) => console.error(line) },
  );
}

async function waitReady(url: string, repos: LocalRepos, watchDir: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !stopping) {
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) {
      const text = quickStartText({ api: url, root, cwd: process.cwd(), ...repos });
      console.log(
        `\nProfiles API: ${url}   (try ${url}/v1/profiles)\nWeb catalog: ${url}/\nwatching ${watchDir}\n\n${text}\n`,
      );
      console.log('Ctrl-C stops everything.\n');
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!stopping) {
    console.error(`the API did not become ready at ${url} within 30 s`);
    await shutdown(1);
  }
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
  // The local experience stays open: anonymous callers see every catalog and may install (docs/security.md).
  // Every other deployment starts closed (AUTH_ANONYMOUS defaults to off).
  env.AUTH_ANONYMOUS ??= 'open';
  // The example repositories are local: loopback is allowed here, never by default.
  env.REPO_ALLOW_LOOPBACK ??= 'true';
  const dataRoot = join(root, '.local');
  await mkdir(dataRoot, { recursive: true });
  const repos = await ensureLocalRepos(root, dataRoot);
  for (const tag of repos.conflicts) {
    console.error(
      `warning: ${repos.profilesDir} holds tag ${tag} with another commit than examples/ gives it; ` +
        'remove .local/git/profiles.git to rebuild it',
    );
  }
  // The example catalog lists the local profile repository; a folder of your own (WATCH_DIR) is left alone.
  if (!process.env.WATCH_DIR)
    await writeCatalogSource(join(env.WATCH_DIR, 'local-examples.yaml'), repos.profilesUrl);
  env.REDIS_URL ||= await privateServer('redis', dataRoot, startRedis);
  env.NATS_URL ||= await privateServer('nats', dataRoot, startNats);
  // The services run compiled, as in production; a source changed since the last build is built first.
  const built = await buildAll({ ifStale: true });
  if (built.length) console.log(`built ${built.join(', ')}`);
  for (const name of SERVICES) services.push(startService(name, env));
  const url = `http://${env.API_HOST === '0.0.0.0' ? '127.0.0.1' : env.API_HOST}:${env.API_PORT}`;
  await waitReady(url, repos, env.WATCH_DIR);
}

main().catch((err: unknown) => {
  console.error(`cannot start: ${(err as Error).message}`);
  void shutdown(1);
});
