/** Nested profile trees drawn with box characters, what is wrong with a reference marked on its line. */
import type { NestedProfileNode, ProfileTreeNode } from '@profiles/shared';
import { color } from './output.ts';

const NOTES: Record<NonNullable<NestedProfileNode['note']>, string> = {
  cycle: '⟲ cycle: nests a profile above it',
  'outside-catalog': '? not in the catalog (unresolved)',
  'not-visible': '⊘ in a catalog you may not see',
  'depth-limit': '… nested too deep to follow',
};

function lines<T>(
  nodes: T[],
  label: (n: T) => string,
  children: (n: T) => T[],
  prefix = '',
  out: string[] = [],
): string[] {
  nodes.forEach((n, i) => {
    const last = i === nodes.length - 1;
    out.push(`${prefix}${last ? '└─ ' : '├─ '}${label(n)}`);
    lines(children(n), label, children, prefix + (last ? '   ' : '│  '), out);
  });
  return out;
}

/** The catalog's view (`show`): each nested reference, where it resolved, or why not. */
export function catalogTree(root: string, nodes: NestedProfileNode[]): string {
  const label = (n: NestedProfileNode) => {
    const ref = n.source.tag ?? n.source.branch ?? '';
    const where = n.resolved
      ? `${n.resolved.catalog}/${n.resolved.profile}@${n.resolved.version}`
      : `${n.source.url}${ref ? ` ${ref}` : ''}`;
    const note = n.note
      ? `  ${n.note === 'outside-catalog' ? color.yellow(NOTES[n.note]) : color.red(NOTES[n.note])}`
      : '';
    return `${color.bold(n.artifact)} → ${where}${note}`;
  };
  return [root, ...lines(nodes, label, (n) => n.children)].join('\n');
}

/** The installer's resolved tree (a dry run, a render): every artifact with its kind. */
export function resolvedTree(root: ProfileTreeNode): string {
  type Item = ProfileTreeNode['artifacts'][number];
  const label = (a: Item) =>
    a.profile
      ? `${color.bold(a.name)} (profile) → ${a.profile.name}@${a.profile.ref}`
      : `${color.bold(a.name)} (${a.kind})`;
  const head = `${root.name}@${root.ref} ${color.dim(`${root.url} ${root.commit.slice(0, 12)}`)}`;
  return [head, ...lines(root.artifacts, label, (a) => a.profile?.artifacts ?? [])].join('\n');
}
