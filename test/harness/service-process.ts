/**
 * One service as its own process running its compiled bundle (as the image runs it), which a fault test can
 * kill with SIGKILL and start again on the same ports, as Kubernetes restarts a container.
 */
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { freePort, spawnGuarded, type Guarded } from '../../scripts/lib/processes.ts';
import { EXAMPLES_URL } from './installer.ts';
import type { ServiceName } from './services.ts';

const root = join(import.meta.dirname, '..', '..');

export interface ServiceProcess {
  name: ServiceName;
  /** http://127.0.0.1:<port>: health endpoints (and the API itself for the API). */
  url: string;
  start: () => Promise<void>;
  /** SIGKILL to the service and every process it started (git clones and pushes included). */
  kill9: () => Promise<void>;
  stop: () => Promise<void>;
  /** Memory of the running process (VmRSS of /proc), bytes. */
  rssBytes: () => Promise<number>;
  /** The last log lines, `[name] line`. */
  output: string[];
}

/** `output`: where log lines go (default: a new list keeping the last 200). */
export async function serviceProcess(
  name: ServiceName,
  env: NodeJS.ProcessEnv,
  opts: { output?: string[] } = {},
): Promise<ServiceProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const output = opts.output ?? [];
  const keep = opts.output ? Infinity : 200;
  let proc: Guarded | undefined;
  const ready = async () => {
    const deadline = Date.now() + 60_000;
    while (proc) {
      // Liveness, not readiness: an API or indexer is rightly unready while the catalog is rebuilt.
      const ok = await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`${name} not up in 60 s:\n${output.slice(-20).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const svc: ServiceProcess = {
    name,
    url,
    output,
    start: async () => {
      proc = spawnGuarded(
        process.execPath,
        ['--enable-source-maps', join(root, 'services', name, 'dist/main.js')],
        {
          env: { ...process.env, ...env, API_PORT: String(port), HEALTH_PORT: String(port) },
          cwd: root,
          stdout: 'pipe',
          stderr: 'pipe',
        },
      );
      for (const s of [proc.child.stdout, proc.child.stderr])
        if (s)
          createInterface({ input: s }).on('line', (l) => {
            output.push(`[${name}] ${l}`);
            if (output.length > keep) output.shift();
          });
      await ready();
    },
    kill9: async () => {
      const p = proc;
      if (!p) return;
      proc = undefined;
      process.kill(-p.child.pid!, 'SIGKILL');
      await p.exited;
    },
    stop: async () => {
      const p = proc;
      proc = undefined;
      await p?.stop(8_000);
    },
    rssBytes: async () => {
      const { readFile } = await import('node:fs/promises');
      const { execFileSync } = await import('node:child_process');
      // The guard is a shell with two children: the service and a subshell (a fork of the guard, with the
      // guard's command line) waiting on our pipe.
      const children = execFileSync('pgrep', ['-P', String(proc!.child.pid)], { encoding: 'utf8' }).split(
        '\n',
      );
      let child = '';
      for (const pid of children.filter(Boolean)) {
        const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
        if (argv[0] === process.execPath) child = pid;
      }
      const status = await readFile(`/proc/${child}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
    },
  };
  return svc;
}

/**
 * The environment of services run for a test or bench on this machine: file:// and loopback repositories, an
 * open API without rate limit, the profiles-examples fixture behind its GitHub URL, scratch folders in `dir`.
 */
export function localServiceEnv(o: {
  redisUrl: string;
  natsUrl: string;
  watchDir: string;
  examples: string;
  dir: string;
}): NodeJS.ProcessEnv {
  return {
    REDIS_URL: o.redisUrl,
    NATS_URL: o.natsUrl,
    WATCH_DIR: o.watchDir,
    REPO_ALLOW_FILE: 'true',
    REPO_ALLOW_LOOPBACK: 'true',
    AUTH_ANONYMOUS: 'open',
    RATE_LIMIT_PER_MINUTE: '0',
    GIT_URL_REWRITES: `${EXAMPLES_URL}=file://${o.examples}`,
    SECRETS_DIR: join(o.dir, 'no-secrets'),
    INSTALLER_WORK_DIR: join(o.dir, 'installer'),
    REPO_CACHE_DIR: join(o.dir, 'repo-cache'),
    API_HOST: '127.0.0.1',
    HEALTH_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  };
}
