/**
 * A real Kubernetes API server for tests (what controller-runtime calls envtest): etcd and kube-apiserver on
 * free loopback ports, built once by tools/kube-assets/build.sh (or taken from KUBEBUILDER_ASSETS).
 *
 * - Clients authenticate with a static bearer token (user `admin`, group `system:masters`; RBAC is on).
 * - A kubeconfig file (insecure-skip-tls-verify, token user) is written for kubectl and client-node; the
 *   self-signed serving certificate's chain is exposed as `caFile` for clients that want to verify TLS.
 * - The API server can be stopped and started again on the same port (outage tests); etcd keeps the data.
 * - Children never outlive the test process: they are killed on `process.on('exit')`, and on Linux they are
 *   started under `setpriv --pdeathsig SIGKILL`, so the kernel kills them even if this process is SIGKILLed.
 *   Temporary directories left by a SIGKILLed test process are removed by the next startKube().
 *
 * Only Node built-ins are used, so any test can import it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
/** The repository's own CRDs: applied when `startKube` is called without `crdDirs`. */
export const CRD_DIR = join(root, 'deploy/crds');
const BUILD_SCRIPT = join(root, 'tools/kube-assets/build.sh');

export interface KubeServer {
  /** https://127.0.0.1:<port>; the same across restartApiServer(). */
  url: string;
  kubeconfigPath: string;
  /** Bearer token of user `admin` in group `system:masters`. */
  token: string;
  /** PEM chain of the API server's self-signed serving certificate (valid for 127.0.0.1). */
  caFile?: string;
  /** http://127.0.0.1:<port> of the etcd behind it. */
  etcdUrl: string;
  /** How long the start-up steps took, in ms (etcd ready, kube-apiserver ready, CRDs applied and Established). */
  startupMs: { etcd: number; apiServer: number; crds: number };
  /** Runs kubectl with this server's kubeconfig (and a private discovery cache); resolves to stdout. */
  kubectl: (...args: string[]) => Promise<string>;
  /** Stops kube-apiserver and etcd and removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
  /** Stops kube-apiserver only (SIGTERM, SIGKILL after a grace period); etcd and its data stay. */
  stopApiServer(): Promise<void>;
  /** Starts kube-apiserver again on the same port and waits until /readyz answers 200. No-op if running. */
  startApiServer(): Promise<void>;
  restartApiServer(): Promise<void>;
}

export interface StartKubeOptions {
  /** Directories whose *.yaml/*.yml CRDs are applied (and awaited Established); default [CRD_DIR], [] for none. */
  crdDirs?: string[];
  /** Where etcd.log and kube-apiserver.log go (appended to); default the temporary directory (removed on stop). */
  logDir?: string;
  /** How long to wait for etcd and for kube-apiserver to get ready, each. Default 90 s. */
  readyTimeoutMs?: number;
  /** SIGTERM-to-SIGKILL grace period when stopping a process. Default 5 s. */
  graceMs?: number;
}

// ---------------------------------------------------------------------------------------------------------
// Children that never outlive us

const live = new Set<ChildProcess>();
const liveDirs = new Set<string>();
process.on('exit', () => {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
});

let setpriv: string | null | undefined;
function pdeathsigWrapper(): string | null {
  if (setpriv !== undefined) return setpriv;
  setpriv = null;
  if (process.platform === 'linux') {
    for (const p of ['/usr/bin/setpriv', '/bin/setpriv']) {
      try {
        accessSync(p, constants.X_OK);
        setpriv = p;
        break;
      } catch {
        /* next */
      }
    }
  }
  return setpriv;
}

interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
  stop: (graceMs: number) => Promise<void>;
}

function startProcess(bin: string, args: string[], logFile: string): Proc {
  const fd = openSync(logFile, 'a');
  const wrapper = pdeathsigWrapper();
  // setpriv execs the binary, so child.pid is the server's own pid.
  const [cmd, argv] = wrapper ? [wrapper, ['--pdeathsig', 'SIGKILL', '--', bin, ...args]] : [bin, args];
  let child: ChildProcess;
  try {
    child = spawn(cmd, argv, { detached: false, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd); // the child has its own copy
  }
  live.add(child);
  // Keep the test process from hanging on a server someone forgot to stop: the exit hook kills it anyway.
  child.unref();
  const exited = new Promise<void>((res) => {
    const done = () => {
      live.delete(child);
      res();
    };
    if (child.exitCode !== null || child.signalCode !== null) done();
    else child.once('exit', done);
    child.once('error', done); // spawn failure (ENOENT...): 'exit' may never come
  });
  const stop = async (graceMs: number) => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    await exited;
  };
  return { child, exited, stop };
}

const running = (p: Proc | undefined): boolean =>
  p !== undefined && p.child.exitCode === null && p.child.signalCode === null;

function tail(file: string, bytes = 3000): string {
  try {
    const s = readFileSync(file, 'utf8');
    return s.length > bytes ? '…' + s.slice(-bytes) : s;
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

function run(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<string> {
  return new Promise((res, rej) => {
    execFile(cmd, args, { maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 0 }, (err, stdout, stderr) => {
      if (err) {
        // Like util.promisify(execFile): the error carries stdout, stderr and the exit code
        // (`kubectl auth can-i` answers "no" on stdout with exit code 1).
        rej(
          Object.assign(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`.trim()), {
            code: err.code,
            stdout,
            stderr,
          }),
        );
      } else res(stdout);
    });
  });
}

/** Directory holding kube-apiserver and etcd: KUBEBUILDER_ASSETS if complete, else built/cached by build.sh. */
export async function kubeAssets(): Promise<string> {
  const env = process.env.KUBEBUILDER_ASSETS;
  if (env && existsSync(join(env, 'kube-apiserver')) && existsSync(join(env, 'etcd'))) return env;
  // The first build takes minutes: no timeout. build.sh prints the directory as the last line on stdout.
  const out = await run(BUILD_SCRIPT, []);
  const dir = out.trim().split('\n').pop();
  if (!dir) throw new Error(`${BUILD_SCRIPT} printed no directory`);
  return dir;
}

/** A port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

/** Status code of a GET, 0 on any connection error. */
function statusOf(url: string, token?: string): Promise<number> {
  return new Promise((res) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      {
        headers: token ? { authorization: `Bearer ${token}` } : {},
        ...(u.protocol === 'https:' ? { rejectUnauthorized: false } : {}),
        timeout: 2000,
        agent: false,
      },
      (r) => {
        r.resume();
        res(r.statusCode ?? 0);
      },
    );
    req.on('error', () => res(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitReady(
  what: string,
  url: string,
  proc: Proc,
  logFile: string,
  timeoutMs: number,
  token?: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await statusOf(url, token)) === 200) return;
    if (!running(proc)) {
      throw new Error(`${what} exited (${proc.child.exitCode ?? proc.child.signalCode}):\n${tail(logFile)}`);
    }
    if (Date.now() > deadline) throw new Error(`${what} not ready within ${timeoutMs} ms:\n${tail(logFile)}`);
    await sleep(100);
  }
}

const TMP_PREFIX = 'kube-harness-';
const OWNER_FILE = 'owner.pid';

/** Removes temporary directories left by harness processes that were SIGKILLed (their owner pid is gone). */
async function sweepStaleDirs(): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(tmpdir());
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.startsWith(TMP_PREFIX)) continue;
    const d = join(tmpdir(), e);
    try {
      const pid = Number((await readFile(join(d, OWNER_FILE), 'utf8')).trim());
      if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
      try {
        process.kill(pid, 0);
        continue; // owner alive
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') continue;
      }
      await rm(d, { recursive: true, force: true });
    } catch {
      /* not ours, or being created: leave it */
    }
  }
}

const addressInUse = (log: string) => /address already in use/i.test(log);

// ---------------------------------------------------------------------------------------------------------

export async function startKube(opts: StartKubeOptions = {}): Promise<KubeServer> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? 90_000;
  const graceMs = opts.graceMs ?? 5_000;
  const bin = await kubeAssets();
  await sweepStaleDirs();
  const dir = await mkdtemp(join(tmpdir(), TMP_PREFIX));
  liveDirs.add(dir);
  await writeFile(join(dir, OWNER_FILE), String(process.pid));
  let t = performance.now();
  const lap = () => Math.round(-t + (t = performance.now()));
  const startupMs = { etcd: 0, apiServer: 0, crds: 0 };
  let etcd: Proc | undefined;
  let api: Proc | undefined;
  let stopped = false;
  try {
    const logDir = opts.logDir ? resolve(opts.logDir) : dir;
    await mkdir(logDir, { recursive: true });
    const etcdLog = join(logDir, 'etcd.log');
    const apiLog = join(logDir, 'kube-apiserver.log');

    // Credentials: service-account signing key pair, admin token.
    const token = randomBytes(24).toString('hex');
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = join(dir, 'sa.key');
    const saPub = join(dir, 'sa.pub');
    await writeFile(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await writeFile(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
    const tokenFile = join(dir, 'tokens.csv');
    await writeFile(tokenFile, `${token},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });
    const certDir = join(dir, 'certs');
    await mkdir(certDir);

    // etcd (retried on a port race: another process may grab a "free" port before etcd binds it).
    let etcdPort = 0;
    for (let attempt = 1; ; attempt++) {
      etcdPort = await freePort();
      const peerPort = await freePort();
      const e = startProcess(
        join(bin, 'etcd'),
        [
          '--name=default',
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
          `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
          `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
          `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
          '--unsafe-no-fsync', // test data: no fsync, much faster on slow disks
          '--log-level=warn',
        ],
        etcdLog,
      );
      etcd = e;
      try {
        await waitReady('etcd', `http://127.0.0.1:${etcdPort}/health`, e, etcdLog, readyTimeoutMs);
        break;
      } catch (err) {
        await e.stop(0);
        if (attempt >= 3 || !addressInUse(tail(etcdLog))) throw err;
        await rm(join(dir, 'etcd'), { recursive: true, force: true });
      }
    }
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    startupMs.etcd = lap();

    let apiPort = await freePort();
    const url = () => `https://127.0.0.1:${apiPort}`;
    const apiArgs = () => [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${certDir}`, // self-signed serving cert, generated on first start and reused afterwards
      `--token-auth-file=${tokenFile}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      // ServiceAccount admission waits for the token controller (kube-controller-manager) that is not running.
      '--disable-admission-plugins=ServiceAccount',
      // The lease reconciler would try to publish 127.0.0.1 as the `kubernetes` endpoint, which validation rejects.
      '--endpoint-reconciler-type=none',
      '--allow-privileged=true',
      '--profiling=false',
      '--v=0',
    ];

    const startApiServer = async () => {
      if (stopped) throw new Error('kube server was stopped');
      if (running(api)) return;
      const a = startProcess(join(bin, 'kube-apiserver'), apiArgs(), apiLog);
      api = a;
      try {
        await waitReady('kube-apiserver', `${url()}/readyz`, a, apiLog, readyTimeoutMs, token);
      } catch (err) {
        await a.stop(0);
        throw err;
      }
    };
    const stopApiServer = async () => {
      await api?.stop(graceMs);
    };

    // First start, retried on a port race like etcd's. Later starts reuse the port.
    for (let attempt = 1; ; attempt++) {
      try {
        await startApiServer();
        break;
      } catch (err) {
        if (attempt >= 3 || !addressInUse(tail(apiLog))) throw err;
        apiPort = await freePort();
      }
    }
    startupMs.apiServer = lap();

    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfigPath,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: test',
        '  cluster:',
        `    server: ${url()}`,
        '    insecure-skip-tls-verify: true',
        'users:',
        '- name: admin',
        '  user:',
        `    token: ${token}`,
        'contexts:',
        '- name: test',
        '  context:',
        '    cluster: test',
        '    user: admin',
        '    namespace: default',
        'current-context: test',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const cacheDir = join(dir, 'kubectl-cache');
    const kubectl = (...args: string[]) =>
      run('kubectl', [`--kubeconfig=${kubeconfigPath}`, `--cache-dir=${cacheDir}`, ...args], {
        timeoutMs: 120_000,
      });

    // CRDs: apply every *.yaml / *.yml file, then wait until each is Established.
    const crdFiles: string[] = [];
    for (const d of opts.crdDirs ?? [CRD_DIR]) {
      for (const f of (await readdir(d)).sort()) if (/\.ya?ml$/.test(f)) crdFiles.push(join(d, f));
    }
    if (crdFiles.length > 0) {
      const applied = await kubectl('apply', '-o', 'name', ...crdFiles.flatMap((f) => ['-f', f]));
      const crds = applied.split('\n').filter((n) => n.startsWith('customresourcedefinition'));
      if (crds.length > 0) await kubectl('wait', '--for=condition=Established', '--timeout=60s', ...crds);
    }
    startupMs.crds = lap();

    const caPath = join(certDir, 'apiserver.crt');
    const caFile = existsSync(caPath) ? caPath : undefined;
    return {
      url: url(),
      kubeconfigPath,
      token,
      ...(caFile ? { caFile } : {}),
      etcdUrl,
      startupMs,
      kubectl,
      startApiServer,
      stopApiServer,
      restartApiServer: async () => {
        await stopApiServer();
        await startApiServer();
      },
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await api?.stop(graceMs);
        await etcd?.stop(graceMs);
        await rm(dir, { recursive: true, force: true });
        liveDirs.delete(dir);
      },
    };
  } catch (err) {
    stopped = true;
    await api?.stop(0);
    await etcd?.stop(0);
    await rm(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
    throw err;
  }
}
