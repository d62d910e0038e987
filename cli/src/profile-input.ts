/**
 * What install and render share: which profile (a catalog entry, or a repository given by URL) and its values
 * (`--values FILE` keyed by artifact, then `--set`, later ones winning, as Helm layers them).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ProfileRef } from '@profiles/shared';
import { CliError, EXIT } from './exit.ts';
import { yaml } from './output.ts';
import { parseCatalogRef, parseObjectRef, type CatalogRef } from './refs.ts';
import { applySet, mergeValues, type Values } from './set-values.ts';

export interface ProfileOpts {
  profileUrl?: string;
  profileTag?: string;
  profileBranch?: string;
  profilePath?: string;
  profileSecretRef?: string;
  values?: string[];
  set?: string[];
  setString?: string[];
  name?: string;
  namespace: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function addProfileOptions(cmd: Command): Command {
  return cmd
    .argument('[profile]', 'CATALOG/PROFILE[@VERSION] from the catalog (or use --profile-url)')
    .option('--profile-url <url>', 'a profile repository not in the catalog (git URL)')
    .option('--profile-tag <tag>', 'with --profile-url: the tag, e.g. weaveworks-nginx/v0.1.1')
    .option('--profile-branch <branch>', 'with --profile-url: a branch instead of a tag')
    .option('--profile-path <path>', 'with --profile-url: the profile folder (default: from the tag)')
    .option(
      '--profile-secret-ref <secret>',
      'with --profile-url: [NAMESPACE/]NAME of the git credentials Secret',
    )
    .option('--name <name>', 'installation name (default: the profile name)')
    .option('--namespace <namespace>', 'namespace of every generated object', 'default')
    .option('-f, --values <file>', 'YAML values keyed by artifact (repeatable)', collect)
    .option('--set <artifact.key=value>', 'one value, typed like Helm --set (repeatable)', collect)
    .option('--set-string <artifact.key=value>', 'one value, always a string (repeatable)', collect);
}

export interface ProfileInput {
  ref: ProfileRef;
  catalog?: CatalogRef;
  name: string;
  values: Values;
}

export async function profileInput(arg: string | undefined, o: ProfileOpts): Promise<ProfileInput> {
  let ref: ProfileRef;
  let catalog: CatalogRef | undefined;
  let defaultName: string;
  if (arg && o.profileUrl)
    throw new CliError('give either CATALOG/PROFILE[@VERSION] or --profile-url, not both', EXIT.usage);
  if (arg) {
    catalog = parseCatalogRef(arg);
    ref = { catalog: catalog.catalog, name: catalog.profile, version: catalog.version };
    defaultName = catalog.profile;
  } else if (o.profileUrl) {
    if (Boolean(o.profileTag) === Boolean(o.profileBranch))
      throw new CliError('--profile-url needs exactly one of --profile-tag and --profile-branch', EXIT.usage);
    ref = {
      url: o.profileUrl,
      ...(o.profileTag ? { tag: o.profileTag } : { branch: o.profileBranch! }),
      ...(o.profilePath ? { path: o.profilePath } : {}),
      ...(o.profileSecretRef
        ? { secretRef: parseObjectRef(o.profileSecretRef, '--profile-secret-ref') }
        : {}),
    };
    const folder =
      o.profilePath ??
      (o.profileTag?.includes('/') ? o.profileTag.slice(0, o.profileTag.lastIndexOf('/')) : '');
    defaultName = folder.split('/').filter(Boolean).pop() ?? '';
  } else {
    throw new CliError(
      'which profile? give CATALOG/PROFILE[@VERSION] or --profile-url URL --profile-tag TAG',
      EXIT.usage,
    );
  }
  const name = o.name ?? defaultName;
  if (!name) throw new CliError('--name is needed: no profile name to default to', EXIT.usage);
  let values: Values = {};
  for (const f of o.values ?? []) values = mergeValues(values, await valuesFile(f));
  for (const s of o.set ?? []) applySet(values, s);
  for (const s of o.setString ?? []) applySet(values, s, true);
  return { ref, ...(catalog ? { catalog } : {}), name, values };
}

async function valuesFile(file: string): Promise<Values> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`--values ${file}: ${(err as Error).message}`, EXIT.usage);
  }
  let doc: unknown;
  try {
    doc = (await yaml()).parse(text);
  } catch (err) {
    throw new CliError(`--values ${file}: not YAML: ${(err as Error).message.split('\n')[0]}`, EXIT.usage);
  }
  if (doc === null || doc === undefined) return {};
  const isMap = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isMap(doc) || !Object.values(doc as object).every(isMap)) {
    throw new CliError(
      `--values ${file}: expected a map of artifact name to that artifact's values (nginx-chart: {replicaCount: 2})`,
      EXIT.usage,
    );
  }
  return doc as Values;
}
