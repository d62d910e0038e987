/**
 * Start-up cost of the CLI: wall time of `profiles search nginx -o json` (the bundled bin, a real search
 * against a local API over the example catalog) beside a bare `node -e 0` measured in the same run,
 * interleaved so both see the same machine load. Goal: at most 2.5 on the median of the rounds' ratios (each
 * round's CLI time over the bare start beside it, which cancels most of a shared machine's load swings); the
 * ratio of the medians is printed too, and the same search by fetch from this process, the request's own cost.
 *
 *   npm run bench:cli                 (ROUNDS=40 by default)
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildCli, CLI_BIN } from '../test/harness/cli.ts';
import { fixtureRepo } from '../test/harness/git.ts';
import { getJson, startStack, waitFor } from '../test/harness/index.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 40);
const GOAL = 2.5;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/** Wall time of one command, spawned asynchronously (the API answers from this same process). */
function timed(args: string[], env: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, { env: { PATH: process.env.PATH, ...env } }, (err, _out, stderr) => {
      const ms = performance.now() - t0;
      if (err) reject(new Error(`${args.join(' ')} failed: ${err.message} ${stderr}`));
      else resolve(ms);
    }),
  );
}

buildCli();
const stack = await startStack();
try {
  const dir = await stack.tempDir();
  const bare = await fixtureRepo(await stack.tempDir('repo-'));
  await writeFile(
    join(dir, 'examples.yaml'),
    `apiVersion: weave.works/v1alpha1\nkind: ProfileCatalogSource\nmetadata: {name: examples}\nspec:\n  repositories:\n    - url: file://${bare}\n`,
  );
  await stack.indexer();
  await stack.watcher(dir);
  const api = (await stack.api()).url;
  await waitFor(async () => (await getJson(`${api}/v1/search?q=nginx`)).body.total > 0, {
    what: 'catalog indexed',
    timeoutMs: 30_000,
  });
  const env = { PROFILES_API: api };
  const search = [CLI_BIN, 'search', 'nginx', '-o', 'json'];
  const hits = (await getJson(`${api}/v1/search?q=nginx`)).body.total as number;

  // Warm the page cache for both.
  for (let i = 0; i < 3; i++) {
    await timed(['-e', '0'], {});
    await timed(search, env);
  }
  // Other work on the machine stretches every process start; the load beside the figures says how much.
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  const loadBefore = load();
  const bare0: number[] = [];
  const cli: number[] = [];
  const help: number[] = [];
  const request: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    await getJson(`${api}/v1/search?q=nginx`);
    request.push(performance.now() - t0);
    bare0.push(await timed(['-e', '0'], {}));
    cli.push(await timed(search, env));
    help.push(await timed([CLI_BIN, '--help'], {}));
  }
  const row = (name: string, xs: number[]) =>
    `${name.padEnd(36)} median ${median(xs).toFixed(1).padStart(6)} ms   p90 ${pct(xs, 90).toFixed(1).padStart(6)} ms   ${(median(xs) / median(bare0)).toFixed(2)}×`;
  console.log(`node ${process.version}, ${ROUNDS} interleaved rounds, search finds ${hits} profiles`);
  console.log(`load average (1, 5, 15 min) on ${cpus().length} cores: ${loadBefore} before, ${load()} after`);
  console.log(row('node -e 0', bare0));
  console.log(row('profiles search nginx -o json', cli));
  console.log(row('profiles --help (no request)', help));
  console.log(row('the same search by fetch, in-process', request));
  const ratio = median(cli.map((c, i) => c / bare0[i]!));
  console.log(
    `median of the rounds' ratios ${ratio.toFixed(2)} (goal ≤ ${GOAL}): ${ratio <= GOAL ? 'met' : 'NOT met'}; ` +
      `ratio of the medians ${(median(cli) / median(bare0)).toFixed(2)}`,
  );
} finally {
  await stack.stop();
}
