import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

/**
 * What a fresh clone of this working tree holds (tracked files and new ones git does not ignore), in a
 * temporary folder, with the installed node_modules linked in: `npm start` can run there without touching the
 * developer's `.local/` or example folder.
 */
export async function cloneCopy(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'profiles-clone-'));
  const files = execFileSync('git', ['ls-files', '-z', '-co', '--exclude-standard'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((f) => f && existsSync(join(REPO_ROOT, f)));
  for (const f of files) {
    await mkdir(dirname(join(dir, f)), { recursive: true });
    await cp(join(REPO_ROOT, f), join(dir, f));
  }
  const modules = execFileSync('find', ['.', '-name', 'node_modules', '-prune', '-not', '-path', './.*'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  })
    .split('\n')
    .filter(Boolean);
  for (const m of modules) await symlink(join(REPO_ROOT, m), join(dir, m));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
