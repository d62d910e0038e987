/**
 * How fast does a change in the catalog folder reach the API? Writes a ProfileCatalogSource file N times (new
 * version each time) and polls the API until the new version is served. The baseline, measured in the same run
 * on the same files, is how long the kernel takes to tell a bare `fs.watch` about the write: no folder
 * watcher can be faster than that.
 *
 *   npm run bench:latency            (ROUNDS=50 by default)
 */
import { watch } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startStack, waitFor } from '../test/harness/index.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 50);

function doc(version: string): string {
  return `apiVersion: weave.works/v1alpha1
kind: ProfileCatalogSource
metadata: {name: bench}
spec:
  profiles:
    - {name: app, tag: "app/v${version}", description: benchmark profile}
`;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const stack = await startStack();
try {
  const dir = await stack.tempDir();
  await writeFile(join(dir, 'bench.yaml'), doc('0.0.0'));
  await stack.indexer();
  await stack.watcher(dir);
  const api = (await stack.api()).url;
  const latest = async () => {
    const r = await fetch(`${api}/v1/profiles/bench/app`);
    return r.ok ? ((await r.json()) as { item: { version: string } }).item.version : '';
  };
  await waitFor(async () => (await latest()) === '0.0.0', { what: 'initial index' });

  // Baseline: a bare fs.watch on the same directory.
  const baseline: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const file = join(dir, `baseline-${i}.txt`);
    const seen = new Promise<number>((resolve) => {
      const w = watch(dir, (_e, name) => {
        if (name === `baseline-${i}.txt`) {
          w.close();
          resolve(performance.now());
        }
      });
    });
    const t0 = performance.now();
    await writeFile(file, 'x');
    baseline.push((await seen) - t0);
  }

  const pipeline: number[] = [];
  for (let i = 1; i <= ROUNDS; i++) {
    const v = `1.0.${i}`;
    const t0 = performance.now();
    await writeFile(join(dir, 'bench.yaml'), doc(v));
    await waitFor(async () => (await latest()) === v, { intervalMs: 2, what: `version ${v}` });
    pipeline.push(performance.now() - t0);
  }

  const row = (name: string, xs: number[]) =>
    `${name.padEnd(34)} p50 ${pct(xs, 50).toFixed(1).padStart(7)} ms   p95 ${pct(xs, 95).toFixed(1).padStart(7)} ms   max ${Math.max(
      ...xs,
    )
      .toFixed(1)
      .padStart(7)} ms`;
  console.log(`rounds: ${ROUNDS}`);
  console.log(row('baseline: fs.watch notification', baseline));
  console.log(row('folder -> watcher -> NATS -> API', pipeline));
  console.log(
    `ratio p50 pipeline / baseline: ${(pct(pipeline, 50) / Math.max(pct(baseline, 50), 0.001)).toFixed(0)}x`,
  );
  console.log(`goal: visible within 1000 ms -> ${pct(pipeline, 95) < 1000 ? 'met' : 'NOT met'} at p95`);
} finally {
  await stack.stop();
}
