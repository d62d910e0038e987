/**
 * `npm run validate PATH...`: the checks the indexer and the installer run on a profile
 * (shared/src/profile-check.ts), on folders before they are tagged. PATH is a profile's folder, its
 * profile.yaml, or a folder below which every profile.yaml is checked. Exits 1 when any profile fails.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { checkProfileFolder } from '@profiles/shared';

async function profileFolders(path: string): Promise<string[]> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new Error(`${path}: no such file or folder`);
  if (st.isFile()) return [dirname(path)];
  const entries = await readdir(path, { withFileTypes: true });
  if (entries.some((e) => e.isFile() && e.name === 'profile.yaml')) return [path];
  const out: string[] = [];
  for (const e of entries) {
    if (e.isDirectory() && e.name !== 'node_modules' && !e.name.startsWith('.'))
      out.push(...(await profileFolders(join(path, e.name))));
  }
  return out;
}

async function main(args: string[]): Promise<number> {
  if (args.length === 0) {
    console.error(
      'usage: npm run validate PATH...   (a profile folder, its profile.yaml, or a folder of them)',
    );
    return 2;
  }
  let failed = 0;
  let checked = 0;
  for (const arg of args) {
    const folders = await profileFolders(arg);
    if (folders.length === 0) console.error(`${arg}: no profile.yaml found`);
    for (const dir of folders) {
      checked += 1;
      const r = await checkProfileFolder(dir);
      const label = relative(process.cwd(), dir) || basename(dir);
      if (r.ok) {
        const kinds = r.profile.artifacts.map((a) => `${a.name} (${a.kind})`).join(', ');
        console.log(`ok    ${label}: ${r.profile.name}, artifacts ${kinds || 'none'}`);
      } else {
        failed += 1;
        for (const f of r.findings) console.log(`FAIL  ${label}: ${f}`);
      }
    }
  }
  if (checked === 0) return 1;
  console.log(`${checked - failed} of ${checked} profiles pass the checks the indexer and installer run`);
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error((err as Error).message);
    process.exit(2);
  },
);
