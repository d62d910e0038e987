/**
 * The `profiles` CLI as a user runs it: the bundled bin (built once per run, as `npm ci` builds it) in a child
 * process, without a terminal and without colours.
 */
import { execFile, execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gitSync } from './installer.ts';

const root = join(import.meta.dirname, '../..');
export const CLI_BIN = join(root, 'cli/dist/profiles.js');

let built = false;
/** Builds cli/dist from the sources under test (what `npm ci` runs), once per process. */
export function buildCli(): void {
  if (built) return;
  execFileSync(process.execPath, [join(root, 'cli/build.mjs')], { stdio: 'inherit' });
  built = true;
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
