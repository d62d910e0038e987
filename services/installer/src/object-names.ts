import { posix } from 'node:path';
import { AppError, parseYamlDocuments } from '@profiles/shared';
import { RECORD_FILE } from './installation-record.ts';
import type { RenderedObject } from './render.ts';
import type { Workspace } from './workspace.ts';

/** The files that hold the objects an installation generates, in either layout. */
const GENERATED = /(^|\/)(kustomize-flux|HelmRelease|HelmRepository|ConfigMap)\.yaml$/;

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

/**
 * Generated names join the install name and the artifact chain with `-`, so two installations can meet on
 * one name (`a-b` with artifact `c`, `a` with artifact `b-c`: both `a-b-c`), and would fight over the object
 * in the cluster. Refused before anything is written: every object (and Helm release) the installation
 * renders is checked against those of every other installation in the repository, and an installation folder
 * inside another installation's folder is refused too (its files would read as the other's edits).
 */
export async function checkObjectsFree(ws: Workspace, dir: string, objects: RenderedObject[]): Promise<void> {
  const others = (await ws.tracked(`**/${RECORD_FILE}`))
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
  const files = (await ws.tracked('**/*.yaml')).filter((f) => GENERATED.test(f));
  for (const other of others) {
    for (const f of files.filter((x) => x.startsWith(`${other}/`))) {
      let docs: unknown[];
      try {
        docs = parseYamlDocuments((await ws.read(f)) ?? '');
      } catch {
        continue; // not YAML this installer wrote
      }
      for (const doc of docs) {
        for (const id of identities(doc as Record<string, any>)) {
          const clash = mine.get(id);
          if (clash) throw taken(id, clash, other, f);
        }
      }
    }
  }
}

function taken(id: string, clash: RenderedObject, other: string, otherFile: string): AppError {
  return new AppError(
    'OBJECT_NAME_TAKEN',
    `name: the ${id} this installation would write (${clash.file}) is already written by the installation at ${other} (${otherFile}); the two would fight over it in the cluster: choose another name or namespace`,
    { details: { parameter: 'name', object: id, existing: other, file: otherFile } },
  );
}
