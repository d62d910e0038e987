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
  /** Per conflicting file, each conflicting region with a few lines of context (InstallationDoc.conflictHunks). */
  hunks: { file: string; hunks: string[] }[];
}

/** The sides as conflict markers name them: the repository (the user's), the installed version, the upgrade. */
const LABELS = ['-L', 'repository', '-L', 'installed', '-L', 'upgrade'];
const CONTEXT = 3;
const MAX_HUNKS = 20;
const MAX_HUNK_LINES = 200;

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
  const hunks: MergeResult['hunks'] = [];
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
        // diff3 style: the markers show what the installed version had, so the user sees what each side changed.
        const r = await git(['merge-file', '-q', '--diff3', ...LABELS, fo!, fb!, ft!], {
          env,
          allowFail: true,
        });
        if (r.code === 0) out = await readFile(fo!);
        else {
          conflicts.push(p);
          theirsOf.set(p, t);
          const m = await readFile(fo!);
          marked.set(p, m);
          hunks.push({ file: p, hunks: conflictRegions(m.toString('utf8')) });
          files.set(p, o);
          continue;
        }
      } else {
        conflicts.push(p);
        theirsOf.set(p, t);
        hunks.push({ file: p, hunks: [wholeFileHunk(b, o, t)] });
        if (o) files.set(p, o);
        continue;
      }
      if (out) files.set(p, out);
      else if (o || b) removed.push(p);
    }
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
  return { files, conflicts, removed, theirs: theirsOf, marked, hunks };
}

/**
 * The conflicting regions of a diff3-marked merge, each with CONTEXT lines before and after (regions whose
 * context touches are one hunk). Bounded: a status document holds them.
 */
export function conflictRegions(text: string): string[] {
  const lines = text.split('\n');
  const spans: [number, number][] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.startsWith('<<<<<<< ')) continue;
    let j = i;
    while (j < lines.length && !lines[j]!.startsWith('>>>>>>> ')) j++;
    const from = Math.max(0, i - CONTEXT);
    const to = Math.min(lines.length - 1, j + CONTEXT);
    const last = spans[spans.length - 1];
    if (last && from <= last[1] + 1) last[1] = to;
    else spans.push([from, to]);
    i = j;
  }
  return spans.slice(0, MAX_HUNKS).map(([from, to]) => bounded(lines.slice(from, to + 1)));
}

/** A conflict git cannot mark (one side removed the file, or it is new on two sides): each side whole. */
function wholeFileHunk(b: Buffer | undefined, o: Buffer | undefined, t: Buffer | undefined): string {
  const side = (label: string, x: Buffer | undefined) => [
    label,
    ...(x ? x.toString('utf8').replace(/\n$/, '').split('\n') : ['(no such file)']),
  ];
  return bounded([
    ...side('<<<<<<< repository', o),
    ...side('||||||| installed', b),
    ...side('=======', t),
    '>>>>>>> upgrade',
  ]);
}

function bounded(lines: string[]): string {
  if (lines.length <= MAX_HUNK_LINES) return lines.join('\n');
  return [...lines.slice(0, MAX_HUNK_LINES), `… ${lines.length - MAX_HUNK_LINES} more lines`].join('\n');
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
