import { INSTALLATION_TRAILER } from '@profiles/shared';
import { GitError, gitErrorSummary, runGit as git, type GitEnv } from '@profiles/shared/git';
import { writeChange, type Change, type Workspace } from './workspace.ts';

export interface CommitResult {
  commit: string;
  /** Found already committed (redelivery after a crash between push and status write). */
  alreadyDone: boolean;
  noChanges: boolean;
  files: string[];
  removed: string[];
}

/** The result of a job whose commit was already on the branch: nothing new was written. */
export const alreadyDone = (commit: string): CommitResult => ({
  commit,
  alreadyDone: true,
  noChanges: false,
  files: [],
  removed: [],
});

/** git's answers (LC_ALL=C) to a commit with nothing staged, and the summary line naming the new commit. */
const NOTHING_TO_COMMIT = /nothing to commit|nothing added to commit|no changes added to commit/;
const SUMMARY = /^\[.* ([0-9a-f]{40,64})\] /m;

export async function headOf(dir: string, env: GitEnv): Promise<string> {
  return (await git(['rev-parse', 'HEAD'], { cwd: dir, env })).stdout.trim();
}

/** Writes the change and commits it; `commit` is undefined when the tree did not change. */
export async function applyAndCommit(
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
  // One process answers "changed?" and the new commit's id: git prints the full id in its summary line with
  // core.abbrev=no, and exits 1 saying so when nothing was staged. The message comes on standard input.
  const c = await git(['commit', '--no-verify', '-F', '-'], {
    cwd: ws.dir,
    env: { ...env, config: [...env.config, ['core.abbrev', 'no']] },
    input: message,
    allowFail: true,
  });
  if (c.code === 1 && NOTHING_TO_COMMIT.test(c.stdout)) return { files, removed };
  const commit = SUMMARY.exec(c.stdout)?.[1];
  if (c.code !== 0 || !commit) {
    const why = gitErrorSummary(c.stderr) || `exit code ${c.code}`;
    throw new GitError(`git commit failed: ${why}`, c.code, c.stderr);
  }
  ws.committed(change);
  return { commit, files, removed };
}

/** The commit on `ref` carrying this installation id's trailer, if any. */
export async function findTrailer(
  dir: string,
  env: GitEnv,
  ref: string,
  id: string,
): Promise<string | undefined> {
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

/** Which of `ids` already have a commit on the synced head (one history scan for the whole batch). */
export async function findTrailers(dir: string, env: GitEnv, ids: string[]): Promise<Map<string, string>> {
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
