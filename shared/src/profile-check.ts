import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { checkProfileDefinition, type ProfileDefinition } from './profile-definition.ts';
import { parseYaml } from './yaml.ts';

/**
 * The checks a profile passes before it is listed and before it is installed, in one place: the definition
 * (`checkProfileDefinition`) and the files its artifacts name inside the profile's folder. The indexer runs
 * them at every new tag (a failure is the tag's error on the source's status), the installer refuses what
 * they refuse, and `npm run validate PATH` runs them on a folder before it is tagged: what indexes installs.
 */
export type ObjectType = 'tree' | 'blob';

export interface FileRequirement {
  /** Path inside the profile's folder, normalised (`.` is the folder itself). */
  path: string;
  type: ObjectType;
  /** The finding when it is missing. */
  reason: string;
}

/** What the profile's local artifacts need in its folder: a kustomize folder, a chart's Chart.yaml. */
export function fileRequirements(profile: Pick<ProfileDefinition, 'artifacts'>): FileRequirement[] {
  const out: FileRequirement[] = [];
  for (const a of profile.artifacts) {
    if (a.kustomize) {
      const path = posix.normalize(a.kustomize.path).replace(/\/+$/, '') || '.';
      out.push({
        path,
        type: 'tree',
        reason: `artifact ${a.name}: kustomize.path ${JSON.stringify(a.kustomize.path)} is not a folder of the profile`,
      });
    } else if (a.chart?.path !== undefined) {
      const dir = posix.normalize(a.chart.path).replace(/\/+$/, '') || '.';
      out.push({
        path: posix.join(dir, 'Chart.yaml'),
        type: 'blob',
        reason: `artifact ${a.name}: chart.path ${JSON.stringify(a.chart.path)} holds no Chart.yaml`,
      });
    }
  }
  return out;
}

/** The findings of `fileRequirements`, given what each path is in the profile's folder (undefined: absent). */
export function checkProfileFiles(
  profile: Pick<ProfileDefinition, 'artifacts'>,
  typeOf: (path: string) => ObjectType | undefined,
): string[] {
  return fileRequirements(profile)
    .filter((r) => typeOf(r.path) !== r.type)
    .map((r) => r.reason);
}

export type FolderCheck =
  | { ok: true; profile: ProfileDefinition; findings: [] }
  | { ok: false; profile?: ProfileDefinition; findings: string[] };

/** Every check, on a profile's folder on disk (`npm run validate`, the CLI). */
export async function checkProfileFolder(dir: string, maxBytes = 262_144): Promise<FolderCheck> {
  let text: string;
  try {
    text = await readFile(join(dir, 'profile.yaml'), 'utf8');
  } catch {
    return { ok: false, findings: [`no profile.yaml in ${dir}`] };
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxBytes, maxAliasCount: 50 });
  } catch (err) {
    return { ok: false, findings: [`profile.yaml: ${(err as Error).message}`] };
  }
  const checked = checkProfileDefinition(doc);
  if (!checked.ok) return { ok: false, findings: [`profile.yaml: ${checked.reason}`] };
  const types = new Map<string, ObjectType | undefined>();
  for (const r of fileRequirements(checked.profile)) {
    // lstat: a symlink is neither a folder nor a file the installer copies.
    const st = await lstat(join(dir, r.path)).catch(() => undefined);
    // git has no empty folders: an empty one here would not be in the tagged commit.
    const tree = st?.isDirectory() && (await readdir(join(dir, r.path))).length > 0;
    types.set(r.path, tree ? 'tree' : st?.isFile() ? 'blob' : undefined);
  }
  const findings = checkProfileFiles(checked.profile, (p) => types.get(p));
  return findings.length
    ? { ok: false, profile: checked.profile, findings: findings.map((f) => `profile.yaml: ${f}`) }
    : { ok: true, profile: checked.profile, findings: [] };
}
