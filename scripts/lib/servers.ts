import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, freePort, spawnGuarded, waitForPort, type Guarded } from './processes.ts';

/**
 * Private redis-server and nats-server processes on free loopback ports, with their own temporary data dirs.
 * Used by the test harness and by `npm start` when no REDIS_URL/NATS_URL is given. `restart()` keeps port and
 * data, for fault tests.
 */
export interface LocalServer {
  url: string;
  port: number;
  dataDir: string;
  stop: () => Promise<void>;
  start: () => Promise<void>;
  restart: () => Promise<void>;
  /** Stops the server and removes its data. */
  destroy: () => Promise<void>;
}

const INSTALL_HINT: Record<string, string> = {
  'redis-server': 'install it with: apt-get install redis-server',
  'nats-server': 'install it with: apt-get install nats-server',
};

async function requireBinary(name: string): Promise<string> {
  const bin = await findBinary(name);
  if (!bin) throw new Error(`${name} not found on PATH; ${INSTALL_HINT[name] ?? ''}`);
  return bin;
}

async function localServer(
  name: 'redis-server' | 'nats-server',
  argsFor: (port: number, dataDir: string) => string[],
  urlFor: (port: number) => string,
  opts: { port?: number; dataDir?: string },
): Promise<LocalServer> {
  const bin = await requireBinary(name);
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), `${name}-`)));
  let proc: Guarded | undefined;
  let stderr = '';
  const start = async () => {
    stderr = '';
    proc = spawnGuarded(bin, argsFor(port, dataDir), { stdout: 'ignore', stderr: 'pipe' });
    proc.child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const early = proc.exited.then((code) => {
      throw new Error(`${name} exited with code ${code} before listening on ${port}: ${stderr.trim()}`);
    });
    await Promise.race([waitForPort(port), early]);
    early.catch(() => undefined);
  };
  const stop = async () => {
    await proc?.stop();
    proc = undefined;
  };
  await start();
  return {
    url: urlFor(port),
    port,
    dataDir,
    start,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    destroy: async () => {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** `replicaOf`: the port of a local primary this server replicates (read-only, as a production replica). */
export function startRedis(
  opts: { port?: number; dataDir?: string; replicaOf?: number } = {},
): Promise<LocalServer> {
  return localServer(
    'redis-server',
    (port, dir) => [
      ...(opts.replicaOf ? ['--replicaof', '127.0.0.1', String(opts.replicaOf)] : []),
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'yes',
      '--dir',
      dir,
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ],
    (port) => `redis://127.0.0.1:${port}`,
    opts,
  );
}

/**
 * NATS's message limit (max_payload, 1 MB by default) must hold the largest source event: a 1 MiB source file
 * as JSON (escapes grow it up to 6x in the worst case) fits in 8 MB, the limit deployments should set too.
 */
export const NATS_MAX_PAYLOAD = 8 * 1024 * 1024;

export function startNats(
  opts: { port?: number; dataDir?: string; maxPayloadBytes?: number } = {},
): Promise<LocalServer> {
  return localServer(
    'nats-server',
    (port, dir) => {
      const conf = join(dir, 'nats.conf');
      writeFileSync(conf, `max_payload: ${opts.maxPayloadBytes ?? NATS_MAX_PAYLOAD}\n`);
      return ['-c', conf, '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir];
    },
    (port) => `nats://127.0.0.1:${port}`,
    opts,
  );
}
