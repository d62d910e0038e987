import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git, type GitEnv } from './git.ts';

export interface MergeResult {
  files: Map<string, Buffer>;
  conflicts: string[];
  removed: string[];
}

const same = (a: Buffer | undefined, b: Buffer | undefined) =>
  a === undefined ? b === undefined : b !== undefined && a.equals(b);

/**
 * Three-way merge of an installation folder: `base` is what the old version rendered, `ours` what the
 * repository holds now (the user's edits), `theirs` what the new version renders. A file the new version no
 * longer has is removed unless the user edited it (then it is a conflict). Text merges use `git merge-file`.
 * A conflicting file keeps the user's version in `files`: a caller that writes despite conflicts (a dry run's
 * diff) never shows a change or a deletion that would not happen.
 */
export async function mergeTrees(
  base: Map<string, Buffer>,
  ours: Map<string, Buffer>,
  theirs: Map<string, Buffer>,
  env: GitEnv,
): Promise<MergeResult> {
  const files = new Map<string, Buffer>();
  const conflicts: string[] = [];
  const removed: string[] = [];
  const paths = [...new Set([...base.keys(), ...ours.keys(), ...theirs.keys()])].sort();
  let tmp: string | undefined;
  try {
    for (const p of paths) {
      const b = base.get(p);
      const o = ours.get(p);
      const t = theirs.get(p);
      let out: Buffer | undefined;
      if (same(o, t) || same(b, t)) out = o;
      else if (same(b, o)) out = t;
      else if (b && o && t) {
        tmp ??= await mkdtemp(join(tmpdir(), 'profiles-merge-'));
        const [fo, fb, ft] = ['ours', 'base', 'theirs'].map((n) => join(tmp!, n));
        await Promise.all([writeFile(fo!, o), writeFile(fb!, b), writeFile(ft!, t)]);
        const r = await git(['merge-file', '-q', fo!, fb!, ft!], { env, allowFail: true });
        if (r.code === 0) out = await readFile(fo!);
        else {
          conflicts.push(p);
          files.set(p, o);
          continue;
        }
      } else {
        conflicts.push(p);
        if (o) files.set(p, o);
        continue;
      }
      if (out) files.set(p, out);
      else if (o || b) removed.push(p);
    }
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
  return { files, conflicts, removed };
}
