import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AppError,
  INSTALLATION_TRAILER,
  describeError,
  gitErrorSummary,
  type InstallTarget,
  type Logger,
} from '@profiles/shared';
import { runGit as git, type GitAccess, type GitEnv } from '@profiles/shared/git';
import { KeyedMutex } from './keyed-mutex.ts';
import { openWorkspace, writeChange, type Change, type Prepare, type Workspace } from './workspace.ts';

export type { Change, Prepare, Workspace } from './workspace.ts';

export interface CommitResult {
  commit: string;
  /** Found already committed (redelivery after a crash between push and status write). */
  alreadyDone: boolean;
  noChanges: boolean;
  files: string[];
  removed: string[];
}

const MAX_PUSH_ATTEMPTS = 60;
const MAX_BATCH = 32;

interface Job {
  id: string;
  message: string;
  prepare: Prepare;
  resolve: (r: CommitResult) => void;
  reject: (err: unknown) => void;
}

/**
 * Working clones of target (GitOps) repositories, one per URL and branch in this process, used one job at a
 * time. Every job starts from the remote head (fetch + hard reset), so a failed job leaves nothing behind and
 * the remote is changed only by a successful push. A push rejected because another replica pushed first is
 * retried from the new head: the change is prepared again, so concurrent installs into one repository all land.
 */
export class TargetRepos {
  private readonly mutex = new KeyedMutex();
  private readonly queues = new Map<string, Job[]>();
  /** Checkouts whose last push succeeded: they equal the remote head as far as we know, so the next batch
   * may skip the fetch; if another writer moved the branch meanwhile, the push is rejected and we sync. */
  private readonly inSync = new Set<string>();

  constructor(
    private readonly workDir: string,
    private readonly access: GitAccess,
    private readonly log: Logger,
    /** Told of every push redone because another writer moved the branch first (counted in the metrics). */
    private readonly onPushRetry: () => void = () => undefined,
  ) {}

  private get env(): GitEnv {
    return this.access.base;
  }

  private async open(
    target: InstallTarget,
  ): Promise<{ dir: string; env: GitEnv; cleanup: () => Promise<void> }> {
    this.access.check(target.url, 'target repository');
    const dir = join(
      this.workDir,
      createHash('sha256').update(`${target.url}\n${target.branch}`).digest('hex').slice(0, 24),
    );
    if (!(await stat(join(dir, '.git')).catch(() => undefined))) {
      await mkdir(dir, { recursive: true });
      await git(['init', '-q', dir], { env: this.env });
      await git(['remote', 'add', 'origin', target.url], { cwd: dir, env: this.env });
    }
    const creds = await this.access.open(target.url, target.secretRef, 'target repository');
    return { dir, env: creds.env, cleanup: creds.cleanup };
  }

  /** Fetches the branch and resets the checkout to it. Returns false when the branch does not exist yet. */
  private async sync(dir: string, env: GitEnv, target: InstallTarget): Promise<boolean> {
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

  private async findTrailer(dir: string, env: GitEnv, ref: string, id: string): Promise<string | undefined> {
    const r = await git(
      ['log', '-n', '1', '--format=%H', '-F', `--grep=${INSTALLATION_TRAILER}: ${id}`, ref, '--'],
      {
        cwd: dir,
        env,
        allowFail: true,
      },
    );
    return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
  }

  /** Writes the change and commits it; returns undefined when the tree did not change. */
  private async applyAndCommit(
    ws: Workspace,
    env: GitEnv,
    change: Change,
    message: string,
  ): Promise<{ commit?: string; files: string[]; removed: string[] }> {
    const before = new Set(await ws.list(change.dir));
    await writeChange(ws, change);
    await git(['add', '-A', '--', change.dir], { cwd: ws.dir, env });
    const files = [...change.files.keys()];
    const removed = [...before].filter((f) => !change.files.has(f));
    const staged = await git(['diff', '--cached', '--quiet'], { cwd: ws.dir, env, allowFail: true });
    if (staged.code === 0) return { files, removed };
    const msgFile = join(ws.dir, '.git', `MSG-${randomUUID()}`);
    await writeFile(msgFile, message);
    try {
      await git(['commit', '-q', '--no-verify', '-F', msgFile], { cwd: ws.dir, env });
    } finally {
      await rm(msgFile, { force: true });
    }
    const commit = (await git(['rev-parse', 'HEAD'], { cwd: ws.dir, env })).stdout.trim();
    return { commit, files, removed };
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
    while (q.length) {
      const batch = q.splice(0, MAX_BATCH);
      await this.commitBatch(target, batch).catch((err) => batch.forEach((j) => j.reject(err)));
    }
    this.queues.delete(key);
  }

  private async commitBatch(target: InstallTarget, batch: Job[]): Promise<void> {
    const { dir, env, cleanup } = await this.open(target);
    const ws = openWorkspace(dir, env);
    try {
      for (let attempt = 1; ; attempt++) {
        const optimistic = attempt === 1 && this.inSync.has(dir);
        this.inSync.delete(dir);
        const exists = optimistic ? true : await this.sync(dir, env, target);
        const done = exists
          ? await this.findTrailers(
              dir,
              env,
              batch.map((j) => j.id),
            )
          : new Map<string, string>();
        const outcomes = new Map<Job, { result?: CommitResult; error?: unknown }>();
        let pushed = false;
        for (const job of batch) {
          const found = done.get(job.id);
          if (found) {
            outcomes.set(job, {
              result: { commit: found, alreadyDone: true, noChanges: false, files: [], removed: [] },
            });
            continue;
          }
          try {
            const change = await job.prepare(ws);
            const c = await this.applyAndCommit(ws, env, change, job.message);
            if (c.commit) pushed = true;
            const head =
              !c.commit && (exists || pushed)
                ? (await git(['rev-parse', 'HEAD'], { cwd: dir, env })).stdout.trim()
                : '';
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
            await git(['reset', '-q', '--hard'], { cwd: dir, env, allowFail: true });
            await git(['clean', '-fdxq'], { cwd: dir, env, allowFail: true });
            outcomes.set(job, { error: err });
          }
        }
        // Anything but a plain commit decided on a possibly stale checkout is decided again on a fresh one.
        if (
          optimistic &&
          [...outcomes.values()].some(
            (o) => o.error || !o.result || o.result.noChanges || o.result.alreadyDone,
          )
        ) {
          continue;
        }
        let ok = true;
        let text = '';
        if (pushed) {
          const push = await git(
            ['push', '-q', '--porcelain', 'origin', `HEAD:refs/heads/${target.branch}`],
            {
              cwd: dir,
              env,
              timeoutMs: 120_000,
              allowFail: true,
            },
          );
          ok = push.code === 0;
          text = `${push.stderr}\n${push.stdout}`; // the cause first, for the message
        }
        if (ok) {
          if (pushed || exists) this.inSync.add(dir);
          for (const [job, o] of outcomes) {
            if (o.error) job.reject(o.error);
            else job.resolve(o.result!);
          }
          return;
        }
        const raced =
          /non-fast-forward|fetch first|rejected|failed to update ref|cannot lock ref|incorrect old value/i.test(
            text,
          );
        if (!raced || attempt >= MAX_PUSH_ATTEMPTS) {
          throw new AppError(
            'GIT_FAILED',
            `push to ${target.url} ${target.branch} failed: ${gitErrorSummary(text)}`,
          );
        }
        this.onPushRetry();
        this.log.debug(
          { jobs: batch.length, attempt },
          'push raced with another writer, retrying on the new head',
        );
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(50 * attempt, 500)));
      }
    } catch (err) {
      await git(['reset', '-q', '--hard'], { cwd: dir, env, allowFail: true });
      throw err;
    } finally {
      await cleanup();
    }
  }

  /** Which of `ids` already have a commit on the synced head (one history scan for the whole batch). */
  private async findTrailers(dir: string, env: GitEnv, ids: string[]): Promise<Map<string, string>> {
    const r = await git(
      [
        'log',
        '--format=%H%x00%B%x01',
        '-F',
        ...ids.map((id) => `--grep=${INSTALLATION_TRAILER}: ${id}`),
        'HEAD',
        '--',
      ],
      { cwd: dir, env, allowFail: true },
    );
    const out = new Map<string, string>();
    if (r.code !== 0) return out;
    for (const entry of r.stdout.split('\x01')) {
      const [sha, body] = entry.trim().split('\0') as [string, string | undefined];
      for (const id of ids)
        if (body?.includes(`${INSTALLATION_TRAILER}: ${id}`) && !out.has(id)) out.set(id, sha);
    }
    return out;
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
    return this.mutex.run(`${target.url}\n${target.branch}`, async () => {
      const { dir, env, cleanup } = await this.open(target);
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
          const done = await this.findTrailer(dir, env, `refs/remotes/origin/${branch}`, id);
          if (done) return { commit: done, alreadyDone: true, noChanges: false, files: [], removed: [] };
        }
        await this.sync(dir, env, target);
        const change = await prepare(ws);
        const c = await this.applyAndCommit(ws, env, change, message);
        if (!c.commit)
          return { commit: '', alreadyDone: false, noChanges: true, files: c.files, removed: c.removed };
        await git(['push', '-q', '--force', 'origin', `HEAD:refs/heads/${branch}`], {
          cwd: dir,
          env,
          timeoutMs: 120_000,
        });
        return { commit: c.commit, alreadyDone: false, noChanges: false, files: c.files, removed: c.removed };
      } finally {
        await git(['reset', '-q', '--hard'], { cwd: dir, env, allowFail: true }).catch(() => undefined);
        await cleanup();
      }
    });
  }

  /** Dry run: the diff the change would make against the branch head; nothing is committed or pushed. */
  async diff(
    target: InstallTarget,
    prepare: Prepare,
  ): Promise<{ diff: string; files: string[]; removed: string[] }> {
    return this.mutex.run(`${target.url}\n${target.branch}`, async () => {
      const { dir, env, cleanup } = await this.open(target);
      const ws = openWorkspace(dir, env);
      try {
        await this.sync(dir, env, target);
        const before = new Set(await ws.list('.'));
        const change = await prepare(ws);
        await writeChange(ws, change);
        await git(['add', '-A', '--', change.dir], { cwd: dir, env });
        const d = await git(['diff', '--cached', '--no-color', '--', change.dir], { cwd: dir, env });
        const removed = [...before].filter((f) => f.startsWith(`${change.dir}/`) && !change.files.has(f));
        return { diff: d.stdout, files: [...change.files.keys()], removed };
      } finally {
        await git(['reset', '-q', '--hard'], { cwd: dir, env, allowFail: true }).catch(() => undefined);
        await git(['clean', '-fdxq'], { cwd: dir, env, allowFail: true }).catch(() => undefined);
        await cleanup();
      }
    });
  }

  /** Deletes a branch this service pushed (a pull request that could not be opened leaves nothing behind). */
  async deleteBranch(target: InstallTarget, branch: string): Promise<void> {
    await this.mutex.run(`${target.url}\n${target.branch}`, async () => {
      const { dir, env, cleanup } = await this.open(target);
      try {
        const r = await git(['push', '-q', 'origin', '--delete', `refs/heads/${branch}`], {
          cwd: dir,
          env,
          timeoutMs: 120_000,
          allowFail: true,
        });
        if (r.code !== 0 && !/remote ref does not exist/i.test(r.stderr)) {
          this.log.warn({ branch, err: gitErrorSummary(r.stderr) }, 'deleting a pull-request branch failed');
        }
      } finally {
        await cleanup();
      }
    });
  }

  /** One file of the branch head, or undefined (also when the branch does not exist). */
  async readFile(target: InstallTarget, path: string): Promise<string | undefined> {
    return this.mutex.run(`${target.url}\n${target.branch}`, async () => {
      const { dir, env, cleanup } = await this.open(target);
      try {
        if (!(await this.sync(dir, env, target))) return undefined;
        return await openWorkspace(dir, env).read(path);
      } finally {
        await cleanup();
      }
    });
  }

  /** The files under `path` on the branch head whose name is `file` (path and content). */
  async find(target: InstallTarget, file: string): Promise<{ path: string; content: string }[]> {
    return this.mutex.run(`${target.url}\n${target.branch}`, async () => {
      const { dir, env, cleanup } = await this.open(target);
      try {
        if (!(await this.sync(dir, env, target))) return [];
        const ws = openWorkspace(dir, env);
        const hits = (await ws.list(target.path || '.')).filter((f) => f === file || f.endsWith(`/${file}`));
        return Promise.all(
          hits.map(async (p) => ({ path: p, content: (await readFile(join(dir, p))).toString('utf8') })),
        );
      } finally {
        await cleanup();
      }
    });
  }

  describe(err: unknown): string {
    return describeError(err);
  }
}
