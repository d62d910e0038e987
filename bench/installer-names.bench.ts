/**
 * The installer's name check (`npm run bench:names`): before an install or upgrade is written, every object it
 * renders is checked against the generated objects of every other installation in the repository
 * (ObjectNameIndex, services/installer/src/object-names.ts). A repository of INSTALLS installations of
 * weaveworks-nginx v0.1.1 (rendered, committed to the index of a real git checkout); CHECKS checks of one more.
 *
 * Baseline of the same run: a fresh index for every check (every generated file parsed again, as each install
 * paid before the index kept parsed files by blob id) against one index kept across the checks.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { GitAccess, noSecrets, rewriteConfig } from '@profiles/shared/git';
import { FluxValidator } from '../services/installer/src/flux-schemas.ts';
import { ObjectNameIndex } from '../services/installer/src/object-names.ts';
import { ProfileRepos } from '../services/installer/src/profile-repos.ts';
import { renderInstallation } from '../services/installer/src/render.ts';
import { resolveProfile } from '../services/installer/src/resolve-tree.ts';
import { openWorkspace } from '../services/installer/src/workspace.ts';
import { EXAMPLES_URL, examplesRepo } from '../test/harness/installer.ts';

const INSTALLS = Number(process.env.BENCH_INSTALLS ?? 100);
const CHECKS = Number(process.env.BENCH_CHECKS ?? 15);

const dir = await mkdtemp(join(tmpdir(), 'names-bench-'));
try {
  const examples = examplesRepo(dir);
  const access = new GitAccess({
    secrets: noSecrets,
    policy: { allowFile: true, denyHosts: [] },
    base: { config: rewriteConfig([`${EXAMPLES_URL}=file://${examples}`]) },
    code: 'BAD_REQUEST',
  });
  const validator = await FluxValidator.load();
  const source = { url: `file://${examples}`, tag: 'weaveworks-nginx/v0.1.1' };
  const profile = await resolveProfile(new ProfileRepos(join(dir, 'cache'), access), source);
  const render = (i: number) =>
    renderInstallation(
      profile,
      {
        id: `id-${i}`,
        name: `app-${i}`,
        namespace: 'default',
        target: { url: '', branch: 'main', path: 'apps' },
        values: {},
        profile: source,
      },
      validator,
    );
  const work = join(dir, 'gitops');
  execFileSync('git', ['init', '-q', work]);
  for (let i = 0; i < INSTALLS; i++) {
    for (const [f, data] of render(i).files) {
      mkdirSync(dirname(join(work, f)), { recursive: true });
      writeFileSync(join(work, f), data);
    }
  }
  execFileSync('git', ['add', '-A'], { cwd: work });
  const files = execFileSync('git', ['ls-files'], { cwd: work }).toString().trim().split('\n').length;
  const ws = openWorkspace(work, { config: [] });
  const next = render(INSTALLS);
  const time = async (index: () => ObjectNameIndex) => {
    const out: number[] = [];
    for (let i = 0; i < CHECKS; i++) {
      const idx = index();
      const t = performance.now();
      await idx.checkFree(ws, next.dir, next.objects);
      out.push(performance.now() - t);
    }
    return out.sort((a, b) => a - b);
  };
  const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
  const kept = new ObjectNameIndex();
  await kept.checkFree(ws, next.dir, next.objects); // the first check of a replica parses everything once
  const load = loadavg()[0]!.toFixed(2);
  const fresh = await time(() => new ObjectNameIndex());
  const cached = await time(() => kept);
  console.log(`name check, ${INSTALLS} installations (${files} files), ${CHECKS} checks each, load ${load}:`);
  console.log(
    `  fresh index every check (baseline): p50 ${pct(fresh, 0.5).toFixed(1)} ms, p90 ${pct(fresh, 0.9).toFixed(1)} ms`,
  );
  console.log(
    `  index kept across checks:            p50 ${pct(cached, 0.5).toFixed(1)} ms, p90 ${pct(cached, 0.9).toFixed(1)} ms`,
  );
  console.log(
    `  ratio (p50): ${(pct(fresh, 0.5) / pct(cached, 0.5)).toFixed(1)}x; load after ${loadavg()[0]!.toFixed(2)}`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
