/**
 * The `profiles` CLI as a user runs it: the bundled bin (built once per run, as `npm ci` builds it) in a child
 * process, without a terminal and without colours.
 */
import { execFile, execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { connectJetStream, connectRedis } from '@profiles/shared/runtime';
import { buildApp } from '../../services/api/src/app.ts';
import { testLogger, type Stack } from './index.ts';
import { gitSync } from './installer.ts';

const root = join(import.meta.dirname, '../..');
/**
 * The bin built from the sources under test, as `npm ci` builds cli/dist, but in a folder of this test process's
 * own: test files run in parallel processes, and one rebuilding cli/dist removed the files another was running.
 */
// Beside cli/dist, at its depth: the bundle finds the installer's Flux schemas relative to itself.
const outDir = join(root, 'cli', `dist-test-${process.pid}`);
export const CLI_BIN = join(outDir, 'profiles.js');

let built = false;
/** Builds the CLI from the sources under test into this process's folder, once per process. */
export function buildCli(): void {
  if (built) return;
  execFileSync(process.execPath, [join(root, 'cli/build.mjs'), outDir], { stdio: 'inherit' });
  built = true;
  process.once('exit', () => rmSync(outDir, { recursive: true, force: true }));
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_BIN, ...args],
      {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', COLUMNS: '100', ...env },
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A long-running command (`events`), its output collected as it comes. */
export function spawnCli(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcessWithoutNullStreams; out: () => string; err: () => string } {
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  return { child, out: () => out, err: () => err };
}

/** A bare profile repository with one commit per version: `versions[i]` is files plus the tags on them. */
export function versionedRepo(
  dir: string,
  name: string,
  versions: { files: Record<string, string>; tags: string[] }[],
): string {
  const bare = join(dir, `${name}.git`);
  gitSync(['init', '-q', '--bare', '-b', 'main', bare]);
  const work = join(dir, `${name}-work`);
  gitSync(['init', '-q', '-b', 'main', work]);
  for (const v of versions) {
    for (const [path, content] of Object.entries(v.files)) {
      mkdirSync(dirname(join(work, path)), { recursive: true });
      writeFileSync(join(work, path), content);
    }
    gitSync(['add', '-A'], work);
    gitSync(['commit', '-q', '-m', v.tags.join(' ')], work);
    for (const t of v.tags) gitSync(['tag', t], work);
  }
  gitSync(['push', '-q', '--tags', bare, 'HEAD:main'], work);
  return bare;
}

/** A ProfileDefinition with the given artifacts (YAML list items). */
export const definition = (name: string, artifacts: string) =>
  `apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata: {name: ${name}}\nspec:\n` +
  `  description: the ${name} profile for the CLI suite\n  maintainer: cli-tests\n  artifacts:\n${artifacts}`;
export const configMap = (replicas: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  replicas: "${replicas}"\n  mode: plain\n`;
/** A ProfileCatalogSource listing repositories. */
export const catalogSource = (name: string, urls: string[]) =>
  `apiVersion: weave.works/v1alpha1\nkind: ProfileCatalogSource\nmetadata: {name: ${name}}\nspec:\n  repositories:\n` +
  urls.map((u) => `    - url: ${u}\n`).join('');

/** An API on a fixed port that can be stopped (dropping its open event streams) and started again. */
export async function restartableApi(stack: Stack, port: number): Promise<() => Promise<void>> {
  const redis = connectRedis(stack.redis.url, testLogger('api'), 'events-api');
  const nats = await connectJetStream([stack.nats.url], testLogger('api'), 'events-api');
  const a = await buildApp({
    redis,
    redisPrefix: stack.prefix,
    log: testLogger('api'),
    nats,
    rateLimitPerMinute: 0,
  });
  await a.listen({ host: '127.0.0.1', port });
  return async () => {
    const closing = a.close();
    a.server.closeAllConnections();
    await closing;
    await nats.nc.close();
    redis.disconnect();
  };
}

/**
 * The suite's profile repositories: `nest.git` (base; top nesting base and loop; loop nesting itself, a cycle)
 * and `app.git` (app 1.0.0 and 1.1.0, one kustomize ConfigMap whose replicas change).
 */
export function cliProfileRepos(dir: string): { nest: string; app: string } {
  const nest = join(dir, 'nest.git');
  const nested = (n: string, tag: string) =>
    `    - name: ${n}\n      profile:\n        source: {url: "file://${nest}", tag: ${tag}}\n`;
  const kustomize = '    - name: config\n      kustomize: {path: config}\n';
  versionedRepo(dir, 'nest', [
    {
      files: {
        'base/profile.yaml': definition('base', kustomize),
        'base/config/cm.yaml': configMap('1'),
        'top/profile.yaml': definition('top', nested('base', 'base/v1.0.0') + nested('loop', 'loop/v1.0.0')),
        'loop/profile.yaml': definition('loop', nested('again', 'loop/v1.0.0')),
      },
      tags: ['base/v1.0.0', 'top/v1.0.0', 'loop/v1.0.0'],
    },
  ]);
  const app = versionedRepo(dir, 'app', [
    {
      files: { 'app/profile.yaml': definition('app', kustomize), 'app/config/cm.yaml': configMap('1') },
      tags: ['app/v1.0.0'],
    },
    { files: { 'app/config/cm.yaml': configMap('2') }, tags: ['app/v1.1.0'] },
  ]);
  return { nest, app };
}
