import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'profiles-installer-';
const OWNER = 'owner.pid';

/**
 * The installer's working folder (profile caches, target clones). A configured one (INSTALLER_WORK_DIR) is a
 * cache worth keeping across restarts; without one, each process takes a temporary folder, removes it on stop,
 * and on start removes the temporary folders of installer processes that died without stopping (their
 * `owner.pid` names a process that no longer runs). Folders of live processes (other replicas, tests) stay.
 */
export async function openWorkDir(
  configured: string | undefined,
  root = tmpdir(),
): Promise<{ dir: string; close: () => Promise<void> }> {
  if (configured) return { dir: configured, close: async () => undefined };
  await removeOrphans(root);
  const dir = await mkdtemp(join(root, PREFIX));
  await writeFile(join(dir, OWNER), String(process.pid));
  return { dir, close: () => rm(dir, { recursive: true, force: true }) };
}

async function removeOrphans(root: string): Promise<void> {
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(await readFile(join(root, name, OWNER), 'utf8').catch(() => ''));
    if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    await rm(join(root, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
