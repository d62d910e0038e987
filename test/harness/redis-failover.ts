/**
 * A Redis primary with a replica (`--replicaof`) behind a loopback TCP forwarder that plays the part of a
 * Kubernetes Service: the services' REDIS_URL names the forwarder, and a manual failover (primary killed,
 * `REPLICAOF NO ONE` on the replica, the forwarder pointed at it and every open connection cut) is what an
 * operator or Sentinel does. The services reconnect to the same address and find the promoted replica.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedis, type LocalServer } from '../../scripts/lib/servers.ts';

export interface RedisPair {
  /** The forwarder's URL: what the services use. */
  url: string;
  primary: LocalServer;
  replica: LocalServer | undefined;
  /** Restarts the primary without its data (and the replica resynchronises from it, empty). */
  restartWiped: () => Promise<void>;
  /** kill -9 of the primary, the replica promoted, the forwarder switched: resolves when it serves. */
  failover: () => Promise<void>;
  destroy: () => Promise<void>;
}

async function pidOf(port: number): Promise<number> {
  const c = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await c.connect();
    const info = await c.info('server');
    return Number(/process_id:(\d+)/.exec(info)![1]);
  } finally {
    c.disconnect();
  }
}

/** Forwards every connection to `target()`; `cut()` closes the open ones (clients see a reset). */
async function forwarder(
  target: () => number,
): Promise<{ port: number; cut: () => void; close: () => Promise<void> }> {
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target(), '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const cut = () => {
    for (const s of open) s.destroy();
  };
  return {
    port: (server.address() as { port: number }).port,
    cut,
    close: () => (cut(), new Promise<void>((r) => server.close(() => r()))),
  };
}

export async function startRedisPair(): Promise<RedisPair> {
  const primary = await startRedis();
  const replica = await startRedis({ replicaOf: primary.port });
  let current = primary.port;
  const fwd = await forwarder(() => current);
  const pair: RedisPair = {
    url: `redis://127.0.0.1:${fwd.port}`,
    primary,
    replica,
    restartWiped: async () => {
      await pair.primary.stop();
      for (const f of await readdir(pair.primary.dataDir))
        await rm(join(pair.primary.dataDir, f), { recursive: true, force: true });
      await pair.primary.start();
    },
    failover: async () => {
      const next = pair.replica;
      if (!next) throw new Error('no replica left to promote');
      process.kill(await pidOf(pair.primary.port), 'SIGKILL');
      await pair.primary.stop();
      const c = new Redis(next.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
      await c.replicaof('NO', 'ONE');
      c.disconnect();
      await pair.primary.destroy();
      pair.primary = next;
      pair.replica = undefined;
      current = next.port;
      fwd.cut();
    },
    destroy: async () => {
      await fwd.close();
      await Promise.all([pair.primary.destroy(), pair.replica?.destroy()]);
    },
  };
  return pair;
}
