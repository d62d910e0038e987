import { AppError, type InstallTarget } from '@profiles/shared';
import type { Logger } from '@profiles/shared/runtime';
import { gitErrorSummary, runGit as git, type GitAccess, type GitEnv } from '@profiles/shared/git';
import { alreadyDone, applyAndCommit, findTrailers, headOf, type CommitResult } from './target-commits.ts';
import { discardChanges, openCheckout, syncCheckout } from './target-checkout.ts';
import { openWorkspace, type Prepare, type Workspace } from './workspace.ts';

const MAX_PUSH_ATTEMPTS = 60;

/** One commit-mode request waiting for its repository. */
export interface Job {
  id: string;
  message: string;
  prepare: Prepare;
  resolve: (r: CommitResult) => void;
  reject: (err: unknown) => void;
}

export interface BatchDeps {
  workDir: string;
  access: GitAccess;
  log: Logger;
  /** Checkouts whose last push succeeded: they equal the remote head as far as we know, so the next batch
   * may skip the fetch; if another writer moved the branch meanwhile, the push is rejected and we sync. */
  inSync: Set<string>;
  /** Told of every push redone because another writer moved the branch first. */
  onPushRetry: () => void;
}

type Outcome = { result?: CommitResult; error?: unknown };

/**
 * Commits a batch of jobs for one repository and branch: one sync, one commit each (a job already committed,
 * found by its trailer, is not redone), one push. A push rejected because another writer pushed first is
 * retried from the new head, every change prepared again; a failing job's writes are dropped, the others stay.
 */
export async function commitBatch(d: BatchDeps, target: InstallTarget, batch: Job[]): Promise<void> {
  const { dir, env, cleanup } = await openCheckout(d.workDir, d.access, target);
  const ws = openWorkspace(dir, env);
  try {
    for (let attempt = 1; ; attempt++) {
      const optimistic = attempt === 1 && d.inSync.has(dir);
      d.inSync.delete(dir);
      const exists = optimistic ? true : await syncCheckout(dir, env, target);
      if (!optimistic) ws.forget();
      const { outcomes, pushed } = await runJobs(ws, env, batch, exists);
      // Anything but a plain commit decided on a possibly stale checkout is decided again on a fresh one.
      if (
        optimistic &&
        [...outcomes.values()].some((o) => o.error || !o.result || o.result.noChanges || o.result.alreadyDone)
      ) {
        continue;
      }
      const push = pushed ? await pushHead(dir, env, target) : { ok: true, text: '' };
      if (push.ok) {
        if (pushed || exists) d.inSync.add(dir);
        for (const [job, o] of outcomes) {
          if (o.error) job.reject(o.error);
          else job.resolve(o.result!);
        }
        return;
      }
      const raced =
        /non-fast-forward|fetch first|rejected|failed to update ref|cannot lock ref|incorrect old value/i.test(
          push.text,
        );
      if (!raced || attempt >= MAX_PUSH_ATTEMPTS) {
        throw new AppError(
          'GIT_FAILED',
          `push to ${target.url} ${target.branch} failed: ${gitErrorSummary(push.text)}`,
        );
      }
      d.onPushRetry();
      d.log.debug(
        { jobs: batch.length, attempt },
        'push raced with another writer, retrying on the new head',
      );
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50 * attempt, 500)));
    }
  } catch (err) {
    await discardChanges(dir, env, false);
    throw err;
  } finally {
    await cleanup();
  }
}

/** Prepares and commits each job on the synced checkout; `pushed`: some job made a commit to push. */
async function runJobs(
  ws: Workspace,
  env: GitEnv,
  batch: Job[],
  exists: boolean,
): Promise<{ outcomes: Map<Job, Outcome>; pushed: boolean }> {
  const done = exists
    ? await findTrailers(
        ws.dir,
        env,
        batch.map((j) => j.id),
      )
    : new Map<string, string>();
  const outcomes = new Map<Job, Outcome>();
  let pushed = false;
  for (const job of batch) {
    const found = done.get(job.id);
    if (found) {
      outcomes.set(job, { result: alreadyDone(found) });
      continue;
    }
    try {
      const change = await job.prepare(ws);
      const c = await applyAndCommit(ws, env, change, job.message);
      if (c.commit) pushed = true;
      const head = !c.commit && (exists || pushed) ? await headOf(ws.dir, env) : '';
      outcomes.set(job, {
        result: {
          commit: c.commit ?? head,
          alreadyDone: false,
          noChanges: !c.commit,
          files: c.files,
          removed: c.removed,
        },
      });
    } catch (err) {
      // Drop whatever this job wrote; the commits of the jobs before it stay.
      await discardChanges(ws.dir, env);
      ws.forget();
      outcomes.set(job, { error: err });
    }
  }
  return { outcomes, pushed };
}

/** Pushes the checkout's head to the target branch; `text` holds git's answer, the cause first. */
async function pushHead(
  dir: string,
  env: GitEnv,
  target: InstallTarget,
): Promise<{ ok: boolean; text: string }> {
  const push = await git(['push', '-q', '--porcelain', 'origin', `HEAD:refs/heads/${target.branch}`], {
    cwd: dir,
    env,
    timeoutMs: 120_000,
    allowFail: true,
  });
  return { ok: push.code === 0, text: `${push.stderr}\n${push.stdout}` };
}
