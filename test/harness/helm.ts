/**
 * The helm binary of the chart tests: built once by tools/helm/build.sh from the Go module proxy (or taken from
 * HELM_BIN). `helmBinary()` resolves to its path, or to a reason why there is none when the machine has no Go
 * to build it with; a build that starts and fails is an error, not a reason to skip.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const BUILD_SCRIPT = join(root, 'tools/helm/build.sh');

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((ok, fail) => {
    execFile(cmd, args, { cwd: root, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) fail(Object.assign(err, { stdout, stderr }));
      else ok({ stdout, stderr });
    });
  });
}

export async function helmBinary(): Promise<{ path: string } | { skip: string }> {
  if (!process.env.HELM_BIN) {
    const go = await run('go', ['version'], 30_000).catch(() => undefined);
    const why = 'no helm binary: HELM_BIN is unset and there is no go to build one with';
    // In CI (CI set, as CI services do) the chart must be checked: no go there is a broken CI image.
    if (!go && process.env.CI) throw new Error(`${why} (CI=${process.env.CI})`);
    if (!go) return { skip: why };
  }
  // A cold build takes minutes on 2 cores; once built, the script only checks the file.
  const { stdout } = await run(BUILD_SCRIPT, [], 20 * 60_000).catch((e: Error & { stderr?: string }) => {
    throw new Error(`tools/helm/build.sh failed: ${e.stderr?.trim().split('\n').slice(-5).join('\n')}`);
  });
  return { path: stdout.trim().split('\n').pop()! };
}

/** Runs helm with its caches, config and data under `home` (nothing of the user's own helm set-up). */
export function helmRunner(bin: string, home: string) {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
  return (...args: string[]) =>
    new Promise<string>((ok, fail) => {
      execFile(bin, args, { cwd: root, env, timeout: 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        if (err) fail(new Error(`helm ${args.join(' ')}: ${stderr || err.message}`));
        else ok(stdout);
      });
    });
}
