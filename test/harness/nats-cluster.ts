/**
 * A NATS cluster of three nats-server processes with JetStream on loopback (routes between them on their own
 * ports), for faults that a single server cannot show: the leader of a replicated stream killed with SIGKILL
 * while the other two keep quorum.
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JetStreamManager } from '@profiles/shared/runtime';
import {
  findBinary,
  freePort,
  spawnGuarded,
  waitForPort,
  type Guarded,
} from '../../scripts/lib/processes.ts';
import { NATS_MAX_PAYLOAD } from '../../scripts/lib/servers.ts';

export interface NatsNode {
  name: string;
  url: string;
  /** Its config file's path (on its command line: how to find its process). */
  configFile: string;
  /** SIGKILL to the server (no shutdown of its routes or its JetStream state). */
  kill9: () => Promise<void>;
  start: () => Promise<void>;
  running: () => boolean;
}

export interface NatsCluster {
  nodes: NatsNode[];
  /** Every client URL, for NATS_URL: a client whose server dies reconnects to another. */
  urls: string[];
  /** The server leading `stream` now (its server_name). */
  leaderOf: (jsm: JetStreamManager, stream: string) => Promise<string>;
  destroy: () => Promise<void>;
}

export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const bin = await findBinary('nats-server');
  if (!bin) throw new Error('nats-server not found (apt-get install nats-server)');
  const root = await mkdtemp(join(tmpdir(), 'nats-cluster-'));
  const ports = await Promise.all(
    Array.from({ length: size }, async () => ({ client: await freePort(), route: await freePort() })),
  );
  const routes = ports.map((p) => `nats-route://127.0.0.1:${p.route}`).join(', ');
  const nodes = ports.map((p, i): NatsNode & { proc?: Guarded } => {
    const name = `n${i + 1}`;
    const conf = join(root, `${name}.conf`);
    writeFileSync(
      conf,
      [
        `server_name: ${name}`,
        `listen: 127.0.0.1:${p.client}`,
        `max_payload: ${NATS_MAX_PAYLOAD}`,
        `jetstream { store_dir: "${join(root, name)}" }`,
        `cluster { name: profiles, listen: 127.0.0.1:${p.route}, routes: [${routes}] }`,
        '',
      ].join('\n'),
    );
    const node: NatsNode & { proc?: Guarded } = {
      name,
      url: `nats://127.0.0.1:${p.client}`,
      configFile: conf,
      running: () => node.proc !== undefined,
      start: async () => {
        // The port on the command line too (as the config says): benches find a server's process by its port.
        node.proc = spawnGuarded(bin, ['-c', conf, '-p', String(p.client)], {
          stdout: 'ignore',
          stderr: 'ignore',
        });
        await waitForPort(p.client);
      },
      kill9: async () => {
        const proc = node.proc;
        if (!proc) return;
        node.proc = undefined;
        process.kill(-proc.child.pid!, 'SIGKILL');
        await proc.exited;
      },
    };
    return node;
  });
  await Promise.all(nodes.map((n) => n.start()));
  return {
    nodes,
    urls: nodes.map((n) => n.url),
    leaderOf: async (jsm, stream) => {
      const leader = (await jsm.streams.info(stream)).cluster?.leader;
      if (!leader) throw new Error(`stream ${stream} has no leader`);
      return leader;
    },
    destroy: async () => {
      await Promise.all(nodes.map((n) => n.kill9()));
      await rm(root, { recursive: true, force: true });
    },
  };
}
