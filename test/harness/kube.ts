/**
 * A real Kubernetes API server for tests (what controller-runtime calls envtest): etcd and kube-apiserver on
 * free loopback ports, built once by tools/kube-assets/build.sh (or taken from KUBEBUILDER_ASSETS). Clients
 * authenticate with a static admin token; a kubeconfig file is written for kubectl and client-node. The
 * API server can be stopped and started again on the same port, for outage tests.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, spawnGuarded, waitForPort, type Guarded } from '../../scripts/lib/processes.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');
export const CRD_DIR = join(root, 'deploy/crds');

export interface KubeServer {
  url: string;
  kubeconfigPath: string;
  token: string;
  kubectl: (...args: string[]) => Promise<string>;
  stopApiServer: () => Promise<void>;
  startApiServer: () => Promise<void>;
  stop: () => Promise<void>;
}

export async function kubeAssets(): Promise<string> {
  const { stdout } = await run(join(root, 'tools/kube-assets/build.sh'), [], { maxBuffer: 1 << 20 });
  return stdout.trim().split('\n').pop()!;
}

function get(url: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function startKube(opts: { crdDirs?: string[] } = {}): Promise<KubeServer> {
  const bin = await kubeAssets();
  const dir = await mkdtemp(join(tmpdir(), 'kube-'));
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const token = randomBytes(16).toString('hex');
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await writeFile(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(join(dir, 'tokens.csv'), `${token},admin,admin-uid,"system:masters"\n`);
  const url = `https://127.0.0.1:${apiPort}`;
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfigPath,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: test\n  cluster:\n    server: ${url}\n    insecure-skip-tls-verify: true`,
      'users:',
      `- name: admin\n  user:\n    token: ${token}`,
      'contexts:',
      '- name: test\n  context:\n    cluster: test\n    user: admin\n    namespace: default',
      'current-context: test',
      '',
    ].join('\n'),
  );

  const etcd: Guarded = spawnGuarded(join(bin, 'etcd'), [
    '--data-dir',
    join(dir, 'etcd'),
    '--listen-client-urls',
    `http://127.0.0.1:${etcdPort}`,
    '--advertise-client-urls',
    `http://127.0.0.1:${etcdPort}`,
    '--listen-peer-urls',
    `http://127.0.0.1:${peerPort}`,
    '--initial-advertise-peer-urls',
    `http://127.0.0.1:${peerPort}`,
    '--initial-cluster',
    `default=http://127.0.0.1:${peerPort}`,
    '--unsafe-no-fsync',
    '--log-level',
    'error',
  ]);
  await waitForPort(etcdPort, '127.0.0.1', 30_000);

  let api: Guarded | undefined;
  let apiLog = '';
  const startApiServer = async () => {
    apiLog = '';
    api = spawnGuarded(join(bin, 'kube-apiserver'), [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, 'certs')}`,
      `--service-account-issuer=https://kubernetes.default.svc`,
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-cluster-ip-range=10.96.0.0/24',
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--disable-admission-plugins=ServiceAccount',
      '--v=0',
    ]);
    api.child.stderr?.on('data', (d: Buffer) => (apiLog = (apiLog + d.toString()).slice(-4000)));
    const deadline = Date.now() + 60_000;
    while ((await get(`${url}/readyz`, token)) !== 200) {
      if (api.child.exitCode !== null) throw new Error(`kube-apiserver exited: ${apiLog}`);
      if (Date.now() > deadline) throw new Error(`kube-apiserver not ready within 60 s: ${apiLog}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const kubectl = async (...args: string[]) =>
    (await run('kubectl', ['--kubeconfig', kubeconfigPath, ...args], { maxBuffer: 16 << 20 })).stdout;
  await startApiServer();
  for (const crdDir of opts.crdDirs ?? [CRD_DIR]) {
    await kubectl('apply', '-f', crdDir);
  }
  await kubectl('wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all');
  return {
    url,
    kubeconfigPath,
    token,
    kubectl,
    startApiServer,
    stopApiServer: async () => {
      await api?.stop();
      api = undefined;
    },
    stop: async () => {
      await api?.stop();
      await etcd.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
