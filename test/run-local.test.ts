/**
 * The README's run command: `npm start` brings up servers and services over the example folder, and Ctrl-C
 * leaves no process behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readlinkSync, realpathSync } from 'node:fs';
import { freePort, getJson, waitFor } from './harness/index.ts';

function descendants(pid: number): number[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  const children = new Map<number, number[]>();
  for (const line of out.trim().split('\n')) {
    const [p, pp] = line.trim().split(/\s+/).map(Number) as [number, number];
    children.set(pp, [...(children.get(pp) ?? []), p]);
  }
  const all: number[] = [];
  const stack = [pid];
  while (stack.length) {
    for (const c of children.get(stack.pop()!) ?? []) {
      all.push(c);
      stack.push(c);
    }
  }
  return all;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('npm start serves the example catalog and stops cleanly on SIGINT', async () => {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, API_PORT: String(port), LOG_LEVEL: 'warn' };
  delete env.REDIS_URL;
  delete env.NATS_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/run-local.ts'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  try {
    const started = Date.now();
    const items = await waitFor(
      async () => {
        const r = await getJson(`http://127.0.0.1:${port}/v1/profiles`);
        return r.status === 200 && r.body.items.length >= 5 ? r.body.items : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'example profiles listed' },
    );
    assert.ok(Date.now() - started < 30_000);
    assert.ok(items.some((i: { name: string }) => i.name === 'weaveworks-nginx'));
    await waitFor(() => output.includes(`Profiles API: http://127.0.0.1:${port}`), {
      what: 'the API URL printed',
    });
    const procs = descendants(child.pid!);
    assert.ok(procs.length >= 6, `servers and services run as children (${procs.length})`);
    // Every service runs on the Node this test runs on (the project's Node 24, not the machine's).
    const exe = (pid: number) => readlinkSync(`/proc/${pid}/exe`);
    const nodes = procs.filter((p) => alive(p) && exe(p) === realpathSync(process.execPath));
    assert.ok(
      nodes.length >= 4,
      `the four services run on ${process.execPath}: ${procs.filter(alive).map(exe).join(', ')}`,
    );
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
    await waitFor(() => procs.every((p) => !alive(p)), {
      timeoutMs: 15_000,
      what: 'every child process gone',
    });
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
