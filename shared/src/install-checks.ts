/**
 * The checks of install and upgrade requests a JSON schema cannot express: target paths that stay inside the
 * repository and out of `.git`, and values of bounded depth. The API runs them on every request, the installer
 * on what it reads back from a repository.
 */
import { posix } from 'node:path';
import { AppError } from './errors.ts';

/**
 * A repository-relative folder, normalised ('.' for the root). Refused: absolute paths, paths leaving the
 * repository, and any path that is or enters `.git` (any case: some file systems fold it).
 */
export function checkTargetPath(path: string, parameter = 'target.path'): string {
  const fail = (why: string) =>
    new AppError('TARGET_PATH_INVALID', `${parameter} ${JSON.stringify(path)} ${why}`, {
      details: { parameter },
    });
  if (/^([\\/]|[a-zA-Z]:)/.test(path)) throw fail('is absolute: give a path inside the repository');
  if (/[\0\\]/.test(path)) throw fail('holds a NUL or a backslash');
  const n = posix.normalize(path === '' ? '.' : path).replace(/\/+$/, '') || '.';
  if (n === '..' || n.startsWith('../')) throw fail('leaves the repository');
  if (n.split('/').some((s) => s.toLowerCase() === '.git')) throw fail('is or enters .git');
  return n;
}

/** How deep values may nest: far beyond any chart's values, and well within every recursive walker's stack. */
export const MAX_VALUES_DEPTH = 64;

/** Refuses values nested deeper than MAX_VALUES_DEPTH, naming the artifact (walked without recursion). */
export function checkValues(values: Record<string, unknown> | undefined, parameter = 'values'): void {
  for (const [artifact, v] of Object.entries(values ?? {})) {
    const stack: [unknown, number][] = [[v, 1]];
    while (stack.length) {
      const [node, depth] = stack.pop()!;
      if (node === null || typeof node !== 'object') continue;
      if (depth > MAX_VALUES_DEPTH) {
        throw new AppError(
          'VALUES_TOO_DEEP',
          `${parameter}.${artifact} nests deeper than ${MAX_VALUES_DEPTH} levels`,
          { details: { parameter: `${parameter}.${artifact}`, max: MAX_VALUES_DEPTH } },
        );
      }
      for (const child of Object.values(node)) stack.push([child, depth + 1]);
    }
  }
}
