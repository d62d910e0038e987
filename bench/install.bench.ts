/**
 * Install benchmark (`npm run bench:install`): real redis-server, nats-server, API, installers and git bare
 * repositories over file://, as in the tests.
 *
 *   1. render + commit + push of one nested profile (weaveworks-nginx v0.1.1), end to end through API and
 *      JetStream, one request at a time: median and p90 over RUNS; beside it the render alone (in-process,
 *      profile repository cached) as the baseline of the same run.
 *   2. installs/s into ONE repository with 1, 4 and 16 requests in flight (closed loop), two installer
 *      replicas; ratios against the 1-in-flight figure.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { GitAccess, noSecrets } from '@profiles/shared/git';
import { FluxValidator } from '../services/installer/src/flux-schemas.ts';
import { ProfileRepos } from '../services/installer/src/profile-repos.ts';
import { renderInstallation } from '../services/installer/src/render.ts';
import { resolveProfile } from '../services/installer/src/resolve-tree.ts';
import { getJson, startStack, waitFor } from '../test/harness/index.ts';
import { examplesRepo, gitopsRepo, startInstallerStack } from '../test/harness/installer.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const PER_LEVEL = Number(process.env.BENCH_INSTALLS ?? 48);

const stack = await startStack();
const dir = await mkdtemp(join(tmpdir(), 'install-bench-'));
try {
  const examples = examplesRepo(dir);
  const ins = await startInstallerStack(stack, examples, 2);
  let n = 0;
  const installOnce = async (target: string) => {
    const r = await getJson(`${ins.api}/v1/installations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: `b-${n++}`,
        namespace: 'default',
        profile: { url: `file://${examples}`, tag: 'weaveworks-nginx/v0.1.1' },
        target: { url: `file://${target}`, branch: 'main', path: 'clusters' },
      }),
    });
    const id = r.body.id as string;
    const doc = await waitFor(
      async () => {
        const s = await getJson(`${ins.api}/v1/installations/${id}`);
        return ['committed', 'failed'].includes(s.body.status) ? s.body : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 10 },
    );
    if (doc.status !== 'committed') throw new Error(`install failed: ${doc.reason}`);
  };

  // Render alone: the baseline (profile repository already fetched).
  const validator = await FluxValidator.load();
  const repos = new ProfileRepos(
    join(dir, 'cache'),
    new GitAccess({
      secrets: noSecrets,
      policy: { allowFile: true, denyHosts: [] },
      base: {
        config: [
          ['url.file://' + examples + '.insteadOf', 'https://github.com/weaveworks/profiles-examples'],
        ],
      },
      code: 'BAD_REQUEST',
    }),
  );
  const source = { url: `file://${examples}`, tag: 'weaveworks-nginx/v0.1.1' };
  await resolveProfile(repos, source);
  const renderTimes: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const p = await resolveProfile(repos, source);
    renderInstallation(
      p,
      {
        id: 'x',
        name: `r${i}`,
        namespace: 'default',
        target: { url: '', branch: 'main', path: 'c' },
        values: {},
        profile: source,
      },
      validator,
    );
    renderTimes.push(performance.now() - t0);
  }

  const target1 = gitopsRepo(dir, 'single');
  await installOnce(target1); // warm-up: caches, connections
  const single: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await installOnce(target1);
    single.push(performance.now() - t0);
  }
  const q = (xs: number[], p: number) =>
    [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

  const rates: { c: number; perSec: number }[] = [];
  for (const c of [1, 4, 16]) {
    const target = gitopsRepo(dir, `conc-${c}`);
    let left = PER_LEVEL;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: c }, async () => {
        while (left-- > 0) await installOnce(target);
      }),
    );
    rates.push({ c, perSec: PER_LEVEL / ((performance.now() - t0) / 1000) });
  }
  await ins.close();

  const f = (x: number) => x.toFixed(1);
  console.log(`\ninstall benchmark (weaveworks-nginx v0.1.1: nested profile, 4 artifacts, ${RUNS} runs)`);
  console.log(
    `render only (baseline)        median ${f(q(renderTimes, 0.5))} ms   p90 ${f(q(renderTimes, 0.9))} ms`,
  );
  console.log(
    `render+commit+push end to end median ${f(q(single, 0.5))} ms   p90 ${f(q(single, 0.9))} ms   (${f(q(single, 0.5) / q(renderTimes, 0.5))}x render)`,
  );
  const base = rates[0]!.perSec;
  for (const r of rates) {
    console.log(
      `${String(r.c).padStart(2)} in flight, one repository: ${f(r.perSec)} installs/s   (${(r.perSec / base).toFixed(2)}x of 1 in flight)`,
    );
  }
} finally {
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
}
