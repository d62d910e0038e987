import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';

/**
 * Child processes that can never outlive us. Each server runs under a small `sh` guard that holds the read end
 * of a pipe from this process: when we exit for any reason (even SIGKILL) the pipe closes, the guard's `read`
 * returns and it kills the server. Node has no prctl(PR_SET_PDEATHSIG), so this is the portable way.
 * Each guard leads its own process group: a terminal's Ctrl-C reaches only us, and we stop every child with
 * one SIGTERM, in order (services drain before the servers they use go away).
 */
const GUARD = [
  'exec 3<&0', // keep our stdin (the pipe) on fd 3: background jobs get /dev/null as stdin otherwise
  '"$@" </dev/null &',
  'child=$!',
  '( read -r _ <&3; kill -TERM "$child" 2>/dev/null; sleep 3; kill -KILL "$child" 2>/dev/null ) &',
  'watcher=$!',
  'trap \'kill -TERM "$child" 2>/dev/null\' TERM INT',
  // A trap ends `wait` early: wait again until the child has really gone, so its draining is waited for.
  'while :; do wait "$child"; code=$?; kill -0 "$child" 2>/dev/null || break; done',
  'kill "$watcher" 2>/dev/null',
  'exit $code',
].join('\n');

export interface Guarded {
  child: ChildProcess;
  /** Stops the process (TERM, then KILL after graceMs) and resolves when it has exited. */
  stop: (graceMs?: number) => Promise<void>;
  exited: Promise<number | null>;
}

const live = new Set<ChildProcess>();
/** Kills the guard's whole process group: the guard, its child and its watcher. */
function killGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}
process.on('exit', () => {
  for (const c of live) killGroup(c);
});

export function spawnGuarded(
  cmd: string,
  args: string[],
  opts: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    stdout?: 'inherit' | 'pipe' | 'ignore';
    stderr?: 'inherit' | 'pipe' | 'ignore';
  } = {},
): Guarded {
  const child = spawn('sh', ['-c', GUARD, 'guard', cmd, ...args], {
    stdio: ['pipe', opts.stdout ?? 'ignore', opts.stderr ?? 'pipe'],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    detached: true,
  });
  live.add(child);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    });
  });
  const stop = async (graceMs = 5_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => killGroup(child), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return { child, stop, exited };
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Resolves when something accepts TCP connections on host:port, or throws after timeoutMs. */
export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 15_000): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, host);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
}

/** Finds a binary on PATH (and in /usr/sbin, where Debian puts nats-server). */
export async function findBinary(name: string): Promise<string | undefined> {
  const { access, constants } = await import('node:fs/promises');
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = `${d}/${name}`;
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}
