import { createHash } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError, type InstallTarget } from '@profiles/shared';
import { gitErrorSummary } from '@profiles/shared/git';
import { runGit as git, type GitAccess, type GitEnv } from '@profiles/shared/git';

/** A working clone of one target repository and branch, with the credentials of the job using it. */
export interface Checkout {
  dir: string;
  env: GitEnv;
  cleanup: () => Promise<void>;
}

/**
 * The clone of a target URL and branch under `workDir` (one folder each, made on first use, kept between
 * jobs) and the job's git environment with the target's credentials; `cleanup` drops those.
 */
export async function openCheckout(
  workDir: string,
  access: GitAccess,
  target: InstallTarget,
): Promise<Checkout> {
  access.check(target.url, 'target repository');
  const dir = join(
    workDir,
    createHash('sha256').update(`${target.url}\n${target.branch}`).digest('hex').slice(0, 24),
  );
  if (!(await stat(join(dir, '.git')).catch(() => undefined))) {
    await mkdir(dir, { recursive: true });
    await git(['init', '-q', dir], { env: access.base });
    await git(['remote', 'add', 'origin', target.url], { cwd: dir, env: access.base });
  }
  const creds = await access.open(target.url, target.secretRef, 'target repository');
  return { dir, env: creds.env, cleanup: creds.cleanup };
}

/** Fetches the branch and resets the checkout to it. Returns false when the branch does not exist yet. */
export async function syncCheckout(dir: string, env: GitEnv, target: InstallTarget): Promise<boolean> {
  const b = target.branch;
  const r = await git(['fetch', '-q', '--no-tags', 'origin', `+refs/heads/${b}:refs/remotes/origin/${b}`], {
    cwd: dir,
    env,
    timeoutMs: 120_000,
    allowFail: true,
  });
  if (r.code !== 0) {
    if (!/couldn't find remote ref/i.test(r.stderr)) {
      throw new AppError(
        'GIT_FAILED',
        `target repository ${target.url} is unreachable: ${gitErrorSummary(r.stderr)}`,
        {
          details: { url: target.url },
        },
      );
    }
    // An empty repository or a new branch: start from nothing.
    await git(['symbolic-ref', 'HEAD', `refs/heads/${b}`], { cwd: dir, env });
    await git(['update-ref', '-d', `refs/heads/${b}`], { cwd: dir, env, allowFail: true });
    await git(['read-tree', '--empty'], { cwd: dir, env });
    await git(['clean', '-fdxq'], { cwd: dir, env });
    return false;
  }
  await git(['checkout', '-q', '-B', b, `refs/remotes/origin/${b}`], { cwd: dir, env });
  await git(['reset', '-q', '--hard', `refs/remotes/origin/${b}`], { cwd: dir, env });
  await git(['clean', '-fdxq'], { cwd: dir, env });
  return true;
}

/** Drops whatever a job wrote into the checkout (never throws: the next job syncs anyway). */
export async function discardChanges(dir: string, env: GitEnv, clean = true): Promise<void> {
  await git(['reset', '-q', '--hard'], { cwd: dir, env, allowFail: true }).catch(() => undefined);
  if (clean) await git(['clean', '-fdxq'], { cwd: dir, env, allowFail: true }).catch(() => undefined);
}
