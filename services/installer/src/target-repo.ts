import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, type InstallTarget } from '@profiles/shared';
import type { Logger } from '@profiles/shared/runtime';
import { gitErrorSummary, runGit as git, type GitAccess } from '@profiles/shared/git';
import { commitBatch, type Job } from './commit-batch.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { discardChanges, openCheckout, syncCheckout, type Checkout } from './target-checkout.ts';
import { alreadyDone, applyAndCommit, findTrailer, type CommitResult } from './target-commits.ts';
import { openWorkspace, writeChange, type Prepare } from './workspace.ts';

export type { Change, Prepare, Workspace } from './workspace.ts';
export type { CommitResult } from './target-commits.ts';

const MAX_BATCH = 32;

/**
 * Working clones of target (GitOps) repositories, one per URL and branch in this process, used one job at a
 * time. Every job starts from the remote head (fetch + hard reset), so a failed job leaves nothing behind and
 * the remote is changed only by a successful push. A push rejected because another replica pushed first is
 * retried from the new head: the change is prepared again, so concurrent installs into one repository all land
 * (commit-batch.ts).
 */
export class TargetRepos {
  private readonly mutex = new KeyedMutex();
  private readonly queues = new Map<string, Job[]>();
  private readonly inSync = new Set<string>();

  constructor(
    private readonly workDir: string,
    private readonly access: GitAccess,
    private readonly log: Logger,
    /** Told of every push redone because another writer moved the branch first (counted in the metrics). */
    private readonly onPushRetry: () => void = () => undefined,
  ) {}

  /**
   * Forgets which checkouts were current. Called when this replica gains a partition: another replica may have
   * pushed to its repositories since this one last did (a hand-over, a crash), so the next batch of each fetches
   * before it commits instead of finding out by a rejected push.
   */
  forgetSync(): void {
    this.inSync.clear();
  }

  /** Runs `fn` on the checkout of `target`, one job at a time per repository and branch. */
  private withCheckout<T>(target: InstallTarget, fn: (c: Checkout) => Promise<T>): Promise<T> {
    return this.mutex.run(`${target.url}\n${target.branch}`, async () => {
      const c = await openCheckout(this.workDir, this.access, target);
      try {
        return await fn(c);
      } finally {
        await c.cleanup();
      }
    });
  }

  /**
   * Commit mode: the change lands on the target branch, exactly once per id. Requests for the same repository
   * that wait while another is being pushed are batched: one fetch, one commit each, one push.
   */
  commit(target: InstallTarget, id: string, message: string, prepare: Prepare): Promise<CommitResult> {
    const key = `${target.url}\n${target.branch}`;
    return new Promise<CommitResult>((resolve, reject) => {
      const q = this.queues.get(key) ?? [];
      this.queues.set(key, q);
      q.push({ id, message, prepare, resolve, reject });
      if (q.length === 1) void this.mutex.run(key, () => this.drain(key, target));
    });
  }

  private async drain(key: string, target: InstallTarget): Promise<void> {
    const q = this.queues.get(key) ?? [];
    const deps = {
      workDir: this.workDir,
      access: this.access,
      log: this.log,
      inSync: this.inSync,
      onPushRetry: this.onPushRetry,
    };
    while (q.length) {
      const batch = q.splice(0, MAX_BATCH);
      await commitBatch(deps, target, batch).catch((err) => batch.forEach((j) => j.reject(err)));
    }
    this.queues.delete(key);
  }

  /**
   * Pull-request mode: the change is committed on `branch` (from the target branch head) and pushed. A branch
   * that already carries this id's commit is reused, so a redelivered request pushes nothing new.
   */
  async pushBranch(
    target: InstallTarget,
    branch: string,
    id: string,
    message: string,
    prepare: Prepare,
  ): Promise<CommitResult> {
    return this.withCheckout(target, async ({ dir, env }) => {
      const ws = openWorkspace(dir, env);
      try {
        const r = await git(
          ['fetch', '-q', '--no-tags', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`],
          {
            cwd: dir,
            env,
            allowFail: true,
          },
        );
        if (r.code === 0) {
          const done = await findTrailer(dir, env, `refs/remotes/origin/${branch}`, id);
          if (done) return alreadyDone(done);
        }
        await syncCheckout(dir, env, target);
        const change = await prepare(ws);
        const c = await applyAndCommit(ws, env, change, message);
        if (!c.commit)
          return { commit: '', alreadyDone: false, noChanges: true, files: c.files, removed: c.removed };
        await git(['push', '-q', '--force', 'origin', `HEAD:refs/heads/${branch}`], {
          cwd: dir,
          env,
          timeoutMs: 120_000,
        });
        return { commit: c.commit, alreadyDone: false, noChanges: false, files: c.files, removed: c.removed };
      } finally {
        await discardChanges(dir, env, false);
      }
    });
  }

  /** Dry run: the diff the change would make against the branch head; nothing is committed or pushed. */
  async diff(
    target: InstallTarget,
    prepare: Prepare,
  ): Promise<{ diff: string; files: string[]; removed: string[] }> {
    return this.withCheckout(target, async ({ dir, env }) => {
      const ws = openWorkspace(dir, env);
      try {
        await syncCheckout(dir, env, target);
        const before = new Set(await ws.list('.'));
        const change = await prepare(ws);
        await writeChange(ws, change);
        await git(['add', '-A', '--', change.dir], { cwd: dir, env });
        const d = await git(['diff', '--cached', '--no-color', '--', change.dir], { cwd: dir, env });
        const removed = [...before].filter((f) => f.startsWith(`${change.dir}/`) && !change.files.has(f));
        return { diff: d.stdout, files: [...change.files.keys()], removed };
      } finally {
        await discardChanges(dir, env);
      }
    });
  }

  /** Deletes a branch this service pushed (a pull request that could not be opened leaves nothing behind). */
  async deleteBranch(target: InstallTarget, branch: string): Promise<void> {
    await this.withCheckout(target, async ({ dir, env }) => {
      const r = await git(['push', '-q', 'origin', '--delete', `refs/heads/${branch}`], {
        cwd: dir,
        env,
        timeoutMs: 120_000,
        allowFail: true,
      });
      if (r.code !== 0 && !/remote ref does not exist/i.test(r.stderr)) {
        this.log.warn({ branch, err: gitErrorSummary(r.stderr) }, 'deleting a pull-request branch failed');
      }
    });
  }

  /** One file of the branch head, or undefined (also when the branch does not exist). */
  async readFile(target: InstallTarget, path: string): Promise<string | undefined> {
    return this.withCheckout(target, async ({ dir, env }) => {
      if (!(await syncCheckout(dir, env, target))) return undefined;
      return openWorkspace(dir, env).read(path);
    });
  }

  /** The files under `path` on the branch head whose name is `file` (path and content). */
  async find(target: InstallTarget, file: string): Promise<{ path: string; content: string }[]> {
    return this.withCheckout(target, async ({ dir, env }) => {
      if (!(await syncCheckout(dir, env, target))) return [];
      const ws = openWorkspace(dir, env);
      const hits = (await ws.list(target.path || '.')).filter((f) => f === file || f.endsWith(`/${file}`));
      return Promise.all(
        hits.map(async (p) => ({ path: p, content: (await readFile(join(dir, p))).toString('utf8') })),
      );
    });
  }

  describe(err: unknown): string {
    return describeError(err);
  }
}
