/**
 * An upgrade's conflicts as people read them: each conflicting file and, when the installer sent them
 * (`conflictHunks`), the clashing regions of that file in diff3 form under it; only the file list otherwise.
 */
import type { InstallationDoc } from '@profiles/shared';
import type { color } from './output.ts';

type Colors = typeof color;

/** The diff3 markers of a hunk and the side each one opens (the installer's labels follow the marker). */
const MARKERS: [prefix: string, side: Side][] = [
  ['<<<<<<<', 'repository'],
  ['|||||||', 'installed'],
  ['=======', 'upgrade'],
  ['>>>>>>>', 'context'],
];
type Side = 'context' | 'repository' | 'installed' | 'upgrade';

/**
 * File content shown as text: a control character (an escape sequence in a file could drive the terminal) is
 * printed as its code, tabs kept.
 */
const shown = (line: string) =>
  // eslint-disable-next-line no-control-regex
  line.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);

/**
 * One hunk's lines coloured by side: the user's lines (repository) yellow, the installed version's dim, the
 * upgrade's green, the markers bold cyan, context plain.
 */
function paintHunk(hunk: string, c: Colors): string[] {
  const paint: Record<Side, (s: string) => string> = {
    context: (s) => s,
    repository: c.yellow,
    installed: c.dim,
    upgrade: c.green,
  };
  let side: Side = 'context';
  return hunk
    .replace(/\n$/, '')
    .split('\n')
    .map(shown)
    .map((line) => {
      const marker = MARKERS.find(([prefix]) => line.startsWith(prefix));
      if (!marker) return paint[side](line);
      side = marker[1];
      return c.bold(c.cyan(line));
    });
}

/**
 * `  - FILE` a conflicting file, its hunks indented under it and parted by a dim `⋯`. Files are those of
 * `conflicts`, then any only `conflictHunks` names.
 */
export function conflictList(doc: Pick<InstallationDoc, 'conflicts' | 'conflictHunks'>, c: Colors): string {
  const hunks = new Map((doc.conflictHunks ?? []).map((h) => [h.file, h.hunks]));
  const files = [...new Set([...(doc.conflicts ?? []), ...hunks.keys()])];
  const out: string[] = [];
  for (const file of files) {
    out.push(`  - ${shown(file)}`);
    (hunks.get(file) ?? []).forEach((hunk, i) => {
      if (i > 0) out.push(`    ${c.dim('⋯')}`);
      out.push(...paintHunk(hunk, c).map((l) => (l === '' ? '' : `    ${l}`)));
    });
  }
  return out.join('\n');
}

export const hasConflicts = (doc: Pick<InstallationDoc, 'conflicts' | 'conflictHunks'>): boolean =>
  (doc.conflicts?.length ?? 0) > 0 || (doc.conflictHunks?.length ?? 0) > 0;
