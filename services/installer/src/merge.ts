import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConflictResolution } from '@profiles/shared';
import { runGit as git, type GitEnv } from '@profiles/shared/git';

export interface MergeResult {
  files: Map<string, Buffer>;
  conflicts: string[];
  removed: string[];
  /** Per conflicting file: the new version's file (absent: it removes the file) and git's marked merge. */
  theirs: Map<string, Buffer | undefined>;
  marked: Map<string, Buffer>;
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
  const theirsOf = new Map<string, Buffer | undefined>();
  const marked = new Map<string, Buffer>();
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
          theirsOf.set(p, t);
          marked.set(p, await readFile(fo!));
          files.set(p, o);
          continue;
        }
      } else {
        conflicts.push(p);
        theirsOf.set(p, t);
        if (o) files.set(p, o);
        continue;
      }
      if (out) files.set(p, out);
      else if (o || b) removed.push(p);
    }
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
  return { files, conflicts, removed, theirs: theirsOf, marked };
}

/**
 * Applies the request's choices to a merge's conflicts; returns what stays unresolved (an upgrade fails on
 * those) and how each other one was resolved. A conflict git cannot mark (one side removed the file) keeps
 * the user's file under `markers`.
 */
export function resolveConflicts(
  m: MergeResult,
  choice: ConflictResolution | undefined,
): { unresolved: string[]; resolved: { file: string; by: 'ours' | 'theirs' | 'markers' }[] } {
  const unresolved: string[] = [];
  const resolved: { file: string; by: 'ours' | 'theirs' | 'markers' }[] = [];
  for (const p of m.conflicts) {
    const by = choice?.files?.[p] ?? choice?.mode ?? 'fail';
    if (by === 'fail') {
      unresolved.push(p);
      continue;
    }
    if (by === 'theirs') {
      const t = m.theirs.get(p);
      if (t) m.files.set(p, t);
      else if (m.files.delete(p)) m.removed.push(p);
    } else if (by === 'markers' && m.marked.has(p)) m.files.set(p, m.marked.get(p)!);
    resolved.push({ file: p, by: by === 'markers' && !m.marked.has(p) ? 'ours' : by });
  }
  return { unresolved, resolved };
}
