/**
 * The README's quick start on a fresh clone, offline: `npm start`, then every command of the README's "Quick
 * start" section as written (only the port is the test's): install from the example catalog, see the commit in
 * the local GitOps repository, publish a newer tag to the example profile repository, see the update, upgrade.
 * The same run checks that `npm start` restarts a service that dies and that Ctrl-C stops every service with one
 * signal, after draining.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, getJson, waitFor } from './harness/index.ts';
import { cloneCopy, REPO_ROOT } from './harness/clone-copy.ts';

interface Example {
  code: string;
  printed: boolean;
  cli: boolean;
  expect?: RegExp;
}

/** The ```sh blocks of the README's "Quick start" section, each with the `<!-- ... -->` note after it. */
function quickStartExamples(readme: string): Example[] {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Quick start'));
  assert.ok(section, 'the README has a Quick start section');
  const out: Example[] = [];
  for (const m of section.matchAll(/```sh\n([\s\S]*?)```\n(?:<!-- (.*?) -->)?/g)) {
    const notes = (m[2] ?? '').split(';').map((n) => n.trim());
    const expect = notes
      .find((n) => n.startsWith('expect:'))
      ?.slice('expect:'.length)
      .trim();
    out.push({
      code: m[1]!,
      printed: notes.includes('printed'),
      cli: notes.includes('cli'),
      ...(expect ? { expect: new RegExp(expect) } : {}),
    });
  }
  return out;
}

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

/** The node process of one service, below npm start (on the project's Node, as this test runs). */
function servicePid(root: number, service: string): number | undefined {
  return descendants(root).find((p) => {
    const args = spawnSync('ps', ['-o', 'args=', '-p', String(p)], { encoding: 'utf8' }).stdout;
    return args.startsWith(process.execPath) && args.includes(`services/${service}/dist/main.js`);
  });
}

let copy: Awaited<ReturnType<typeof cloneCopy>>;
let child: ChildProcess;
let output = '';
let port: number;
const api = () => `http://127.0.0.1:${port}`;

before(async () => {
  copy = await cloneCopy();
  port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, API_PORT: String(port) };
  for (const v of ['REDIS_URL', 'NATS_URL', 'WATCH_DIR', 'LOG_LEVEL']) delete env[v];
  // A process group of its own, as a terminal's foreground job: Ctrl-C is a SIGINT to the whole group.
  child = spawn('npm', ['start'], { cwd: copy.dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  await waitFor(() => output.includes('Ctrl-C stops everything'), {
    timeoutMs: 60_000,
    intervalMs: 200,
    what: `npm start ready; output:\n${output}`,
  });
});

after(async () => {
  if (child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
  await copy.remove();
});

test('every quick-start command of the README works as written against npm start', async (t) => {
  const examples = quickStartExamples(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'));
  assert.ok(examples.length >= 6, 'install, look, publish, see the update, upgrade');
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'Quick Start',
    GIT_AUTHOR_EMAIL: 'quick@start.invalid',
    GIT_COMMITTER_NAME: 'Quick Start',
    GIT_COMMITTER_EMAIL: 'quick@start.invalid',
    // The README's CLI lines use the CLI's default API URL; this npm start listens on a port of its own.
    PROFILES_API: api(),
  };
  for (const ex of examples) {
    const code = ex.code.replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`);
    if (ex.printed) {
      const lines = code.trim().split('\n');
      for (const line of lines) assert.ok(output.includes(`  ${line}\n`), `npm start prints: ${line}`);
    }
    if (ex.cli && !existsSync(join(copy.dir, 'node_modules/.bin/profiles'))) {
      t.diagnostic(`not run (no profiles CLI in this tree yet): ${code.trim()}`);
      continue;
    }
    await waitFor(
      () => {
        const r = spawnSync('bash', ['-e', '-c', code], { cwd: copy.dir, env, encoding: 'utf8' });
        assert.equal(r.status, 0, `${code}\nexited ${r.status}: ${r.stderr}`);
        return ex.expect ? ex.expect.test(r.stdout) : true;
      },
      { timeoutMs: 60_000, intervalMs: 1_000, what: `${code.trim()} to answer ${ex.expect}` },
    );
  }
  const log = execFileSync('git', ['--git-dir', '.local/git/gitops.git', 'log', '--format=%s', 'main'], {
    cwd: copy.dir,
    encoding: 'utf8',
  });
  assert.match(
    log,
    /^Upgrade profile hello-web 0\.3\.0 as default\/hello-web\nInstall profile redis-cache 1\.0\.0 as default\/redis-cache\nInstall profile hello-web 0\.1\.0/,
  );
  const values = execFileSync(
    'git',
    [
      '--git-dir',
      '.local/git/gitops.git',
      'show',
      'main:clusters/local/hello-web/artifacts/web/helm-chart/ConfigMap.yaml',
    ],
    { cwd: copy.dir, encoding: 'utf8' },
  );
  assert.match(values, /replicaCount: 3/, 'the upgrade committed the new version');
});

test('npm start restarts a service that dies, with backoff, and says so', async () => {
  const before = servicePid(child.pid!, 'api');
  assert.ok(before, 'the api runs below npm start');
  process.kill(before, 'SIGKILL');
  await waitFor(
    () => /\[api\] exited with code \d+ after [\d.]+ s; restarting in 1 s \(restart 1\)/.test(output),
    {
      what: 'the restart announced',
    },
  );
  await waitFor(async () => (await getJson(`${api()}/readyz`)).status === 200, {
    timeoutMs: 30_000,
    intervalMs: 200,
    what: 'the api back',
  });
  const again = servicePid(child.pid!, 'api');
  assert.ok(again && again !== before, 'a new api process');
});

test('Ctrl-C stops every service with one signal, after draining, leaving no process', async () => {
  const procs = descendants(child.pid!);
  assert.ok(procs.length >= 6, `servers and services run below npm start (${procs.length})`);
  const mark = output.length;
  process.kill(-child.pid!, 'SIGINT');
  await new Promise((r) => child.once('exit', r));
  await waitFor(() => procs.every((p) => !alive(p)), { timeoutMs: 15_000, what: 'every child process gone' });
  const tail = output.slice(mark);
  for (const s of ['api', 'indexer', 'watcher', 'installer']) {
    const lines = tail.split('\n').filter((l) => l.startsWith(`[${s}]`) && l.includes('shutting down'));
    assert.equal(lines.length, 1, `${s} was told to stop once:\n${tail}`);
  }
  assert.doesNotMatch(tail, /second signal|took too long|exited with code/);
});
