/**
 * The deployment files stay true to the code: docker-compose.yml, the Kubernetes manifests in deploy/ and the
 * Dockerfile name only configuration the services know, with values loadConfig accepts, run services that
 * exist, give a read-only root filesystem a writable /tmp, and run the compiled services (no TypeScript loader
 * in production). No container runtime here: these are the checks that do not need one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG_VARS, loadConfig } from '@profiles/shared';
import { findBinary, freePort, spawnGuarded, waitForPort } from '../scripts/lib/processes.ts';
import { NATS_MAX_PAYLOAD } from '../scripts/lib/servers.ts';

const root = join(import.meta.dirname, '..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');
const SERVICES = readdirSync(join(root, 'services'));
/** Variables of the image itself rather than of the services' config. */
const IMAGE_VARS = new Set(['SERVICE', 'NODE_ENV']);

function checkEnv(where: string, env: Record<string, string>): void {
  for (const name of Object.keys(env))
    assert.ok(name in CONFIG_VARS || IMAGE_VARS.has(name), `${where}: ${name} is not a known variable`);
  assert.ok(SERVICES.includes(env.SERVICE ?? ''), `${where}: SERVICE=${env.SERVICE} is not a service`);
  assert.ok(existsSync(join(root, 'services', env.SERVICE!, 'src/main.ts')), `${where}: no main.ts`);
  assert.doesNotThrow(() => loadConfig(env), `${where}: loadConfig rejects its environment`);
}

test('docker-compose.yml: every service runs a real service with a configuration it accepts', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as {
    services: Record<string, { environment?: Record<string, string>; build?: string }>;
  };
  const built = Object.entries(compose.services).filter(([, s]) => s.build);
  assert.deepEqual(built.map(([name]) => name).sort(), [...SERVICES].sort());
  for (const [name, s] of built) checkEnv(`compose ${name}`, s.environment ?? {});
});

test('deploy/: every Deployment runs a real service with a configuration it accepts, /tmp writable', () => {
  const docs = ['config.yaml', 'services.yaml'].flatMap((f) =>
    parseAllDocuments(read(`deploy/${f}`)).map((d) => d.toJSON() as any),
  );
  const configMaps = new Map(
    docs.filter((d) => d?.kind === 'ConfigMap').map((d) => [d.metadata.name, d.data]),
  );
  const deployments = docs.filter((d) => d?.kind === 'Deployment');
  assert.equal(deployments.length, SERVICES.length);
  for (const d of deployments) {
    const pod = d.spec.template.spec;
    for (const c of pod.containers) {
      const env: Record<string, string> = {};
      for (const from of c.envFrom ?? []) {
        const data = configMaps.get(from.configMapRef.name);
        assert.ok(data, `${d.metadata.name}: no ConfigMap ${from.configMapRef.name}`);
        Object.assign(env, data);
      }
      for (const e of c.env ?? []) env[e.name] = e.value;
      checkEnv(d.metadata.name, env);
      assert.equal(c.command, undefined, `${d.metadata.name}: the image's command runs the compiled service`);
      if (c.securityContext?.readOnlyRootFilesystem) {
        const mounts = (c.volumeMounts ?? []).map((m: { mountPath: string }) => m.mountPath);
        assert.ok(mounts.includes('/tmp'), `${d.metadata.name}: read-only root without a writable /tmp`);
      }
    }
  }
});

test('the Dockerfile installs every workspace and sets only known variables', () => {
  const dockerfile = read('Dockerfile');
  for (const s of SERVICES)
    assert.ok(dockerfile.includes(`COPY services/${s}/package.json`), `Dockerfile misses ${s}`);
  // npm ci needs every workspace's package.json, not only the services' (the CLI is one too).
  for (const w of (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces)
    if (!w.includes('*')) assert.ok(dockerfile.includes(`COPY ${w}/package.json`), `Dockerfile misses ${w}`);
  const cmd = /^CMD (.+)$/m.exec(dockerfile)![1]!;
  assert.match(cmd, /node --enable-source-maps services\/\$\{SERVICE[^}]*\}\/dist\/main\.js/);
  assert.doesNotMatch(dockerfile, /tsx/, 'the image runs no TypeScript loader');
  const env = /^ENV (.+)$/m.exec(dockerfile)![1]!;
  for (const [, name] of env.matchAll(/(\w+)=/g))
    assert.ok(name! in CONFIG_VARS || IMAGE_VARS.has(name!), `Dockerfile sets unknown ${name}`);
});

test("docker-compose's NATS takes the max_payload the services need (a real nats-server reads its config)", async () => {
  const compose = parse(read('docker-compose.yml')) as {
    services: { nats: { command: string[]; volumes: string[] } };
  };
  const { command, volumes } = compose.services.nats;
  const inContainer = command[command.indexOf('-c') + 1]!;
  const mount = volumes.find((v) => v.endsWith(`:${inContainer}:ro`) || v.endsWith(`:${inContainer}`));
  assert.ok(mount, `nats: ${inContainer} is not mounted`);
  const conf = join(root, mount.split(':')[0]!);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'compose-nats-'));
  const bin = (await findBinary('nats-server'))!;
  // The same flags with a temporary store instead of the container's /data.
  const args = command.map((a) => (a === '/data' ? dir : a === inContainer ? conf : a));
  const nats = spawnGuarded(bin, [...args, '-a', '127.0.0.1', '-p', String(port)]);
  try {
    await waitForPort(port);
    const info = await new Promise<string>((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      s.once('data', (d) => (s.destroy(), resolve(String(d))));
      s.once('error', reject);
    });
    const maxPayload = (JSON.parse(info.replace(/^INFO /, '')) as { max_payload: number }).max_payload;
    assert.ok(maxPayload >= NATS_MAX_PAYLOAD, `max_payload ${maxPayload} < ${NATS_MAX_PAYLOAD}`);
  } finally {
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
