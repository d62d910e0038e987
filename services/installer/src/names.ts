import { createHash } from 'node:crypto';
import { AppError } from '@profiles/shared';

/**
 * Kubernetes names for generated objects: the install name and the artifact chain joined by `-`. When that is
 * too long, or already taken by another object of the same kind (e.g. `a-b`+`c` against `a`+`b-c`), it is cut
 * and given a stable suffix: the first 8 hex digits of a hash of the unambiguous chain. `key` is that chain
 * when the name shows only part of it (pctl's layout names objects by the leaf artifact alone).
 */
export class NameAllocator {
  private readonly taken = new Map<string, Set<string>>();

  name(kind: string, parts: string[], max: number, key: string[] = parts): string {
    const set = this.taken.get(kind) ?? new Set<string>();
    this.taken.set(kind, set);
    const plain = sanitize(parts.join('-'));
    let out = plain;
    if (out.length > max || set.has(out)) {
      const hash = createHash('sha256').update(key.join('/')).digest('hex').slice(0, 8);
      out = `${plain.slice(0, max - 9).replace(/-+$/, '')}-${hash}`;
    }
    // Only two chains whose hashes share 8 hex digits get here; the install fails naming the clash.
    if (set.has(out)) throw new AppError('RENDER_INVALID', `generated name ${out} for ${kind} is not unique`);
    set.add(out);
    return out;
  }
}

function sanitize(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}
