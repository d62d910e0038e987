import { posix } from 'node:path';
import { AppError, parseYamlDocuments } from '@profiles/shared';
import { RECORD_FILE } from './installation-record.ts';
import type { RenderedObject } from './render.ts';
import type { Workspace } from './workspace.ts';

/** The files that hold the objects an installation generates, in either layout. */
const GENERATED = /(^|\/)(kustomize-flux|HelmRelease|HelmRepository|ConfigMap)\.yaml$/;
const RECORD = new RegExp(`(^|/)${RECORD_FILE.replace(/\./g, '\\.')}$`);

/**
 * What two objects in one cluster must not share: kind, namespace and name, and for a HelmRelease also the
 * Helm release it owns (`releaseName`, pctl's layout sets it; else Flux names the release after the object).
 */
function identities(obj: Record<string, any>): string[] {
  const name = obj?.metadata?.name;
  const ns = obj?.metadata?.namespace;
  // An object without a namespace lands where its applier says: not comparable, and not one this installer writes.
  if (typeof obj?.kind !== 'string' || typeof name !== 'string' || typeof ns !== 'string') return [];
  const out = [`${obj.kind} ${ns}/${name}`];
  if (obj.kind === 'HelmRelease') {
    const release = typeof obj.spec?.releaseName === 'string' ? obj.spec.releaseName : name;
    out.push(`Helm release ${ns}/${release}`);
  }
  return out;
}

/** The innermost folder in `installations` holding `file` (the repository root is none's). */
function installationOf(file: string, installations: ReadonlySet<string>): string | undefined {
  for (let d = posix.dirname(file); d !== '.'; d = posix.dirname(d)) if (installations.has(d)) return d;
  return undefined;
}

/**
 * Generated names join the install name and the artifact chain with `-`, so two installations can meet on
 * one name (`a-b` with artifact `c`, `a` with artifact `b-c`: both `a-b-c`), and would fight over the object
 * in the cluster. Refused before anything is written: every object (and Helm release) the installation
 * renders is checked against those of every other installation in the repository, and an installation folder
 * inside another installation's folder is refused too (its files would read as the other's edits).
 *
 * The objects of a file are kept by its blob id, so a repository with many installations is read once, not
 * once per install (one `git ls-files` per check after that).
 */
export class ObjectNameIndex {
  private readonly byBlob = new Map<string, string[]>();

  constructor(private readonly maxBlobs = 20_000) {}

  async checkFree(ws: Workspace, dir: string, objects: RenderedObject[]): Promise<void> {
    const blobs = await ws.blobs('**/*.yaml');
    const others = [...blobs.keys()]
      .filter((f) => RECORD.test(f))
      .map((f) => posix.dirname(f))
      .filter((d) => d !== dir);
    const enclosing = others.find((d) => d === '.' || dir.startsWith(`${d}/`));
    if (enclosing) {
      throw new AppError(
        'INSTALL_CONFLICT',
        `target.path: ${dir} lies inside the installation at ${enclosing}; install beside it, not in it`,
        { details: { parameter: 'target.path', existing: enclosing } },
      );
    }
    if (!others.length) return;
    const mine = new Map<string, RenderedObject>();
    for (const o of objects) for (const id of identities(o.obj)) mine.set(id, o);
    // Each file's installation is found by walking up its folders, not by trying every installation: a
    // repository of a thousand installations made this check quadratic in them, on every install into it.
    const installed = new Set(others);
    for (const [f, sha] of blobs) {
      if (!GENERATED.test(f)) continue;
      const other = installationOf(f, installed);
      if (!other) continue;
      for (const id of await this.identitiesOf(ws, f, sha)) {
        const clash = mine.get(id);
        if (clash) throw taken(id, clash, other, f);
      }
    }
  }

  private async identitiesOf(ws: Workspace, file: string, sha: string): Promise<string[]> {
    const known = this.byBlob.get(sha);
    if (known) return known;
    let ids: string[] = [];
    try {
      ids = parseYamlDocuments((await ws.read(file)) ?? '').flatMap((d) =>
        identities(d as Record<string, any>),
      );
    } catch {
      // not YAML this installer wrote: nothing to compare
    }
    if (this.byBlob.size >= this.maxBlobs) this.byBlob.clear();
    this.byBlob.set(sha, ids);
    return ids;
  }
}

function taken(id: string, clash: RenderedObject, other: string, otherFile: string): AppError {
  return new AppError(
    'OBJECT_NAME_TAKEN',
    `name: the ${id} this installation would write (${clash.file}) is already written by the installation at ${other} (${otherFile}); the two would fight over it in the cluster: choose another name or namespace`,
    { details: { parameter: 'name', object: id, existing: other, file: otherFile } },
  );
}
