import { lstat, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { AppError, checkTargetPath } from '@profiles/shared';
import { runGit as git, type GitEnv } from '@profiles/shared/git';

/** What an install puts into the working tree, decided after the tree was synced to the branch head. */
export interface Change {
  /** The folder the change owns: it is replaced by `files` (repository-relative paths). */
  dir: string;
  files: Map<string, Buffer>;
}

/** Work done on a freshly synced checkout; `read` reads a file of the current head. */
export type Prepare = (ws: Workspace) => Promise<Change>;

export interface Workspace {
  dir: string;
  read: (path: string) => Promise<string | undefined>;
  /** Files under `path`, symlinks left out. */
  list: (path: string) => Promise<string[]>;
  /** Every committed file under `path` (repository-relative keys); a symlink among them is refused. */
  readTree: (path: string) => Promise<Map<string, Buffer>>;
  /** Committed files matching a glob pathspec (`**` for any depth), from the index: no tree walk. */
  tracked: (glob: string) => Promise<string[]>;
  /** The same, with each file's blob id (what a cache of parsed contents is keyed by). */
  blobs: (glob: string) => Promise<Map<string, string>>;
  /** Told that `change` was committed: the listing above follows it without asking git again. */
  committed: (change: Change) => void;
  /** Told that the checkout was synced or reset: the listing is read from git again when next asked. */
  forget: () => void;
}

const symlinkError = (path: string, link: string) =>
  new AppError(
    'TARGET_PATH_INVALID',
    `${path} passes through the symlink ${link} in the target repository; installations are written only to real folders inside it`,
    { details: { parameter: 'target.path', path, symlink: link } },
  );

/**
 * Refuses a repository-relative path that is or enters `.git`, leaves the clone, or passes through a symlink
 * (a committed symlink may point anywhere on the installer's disk). Missing components are fine: they are
 * created as real folders.
 */
async function checkReal(root: string, path: string): Promise<string> {
  const n = checkTargetPath(path, 'path');
  if (n === '.') return n;
  let cur = '';
  for (const part of n.split('/')) {
    cur = cur ? `${cur}/${part}` : part;
    const st = await lstat(join(root, cur)).catch(() => undefined);
    if (!st) break;
    if (st.isSymbolicLink()) throw symlinkError(n, cur);
  }
  return n;
}

/**
 * A synced checkout as the installer sees it. After a sync the checkout equals HEAD (reset + clean) and every
 * job commits all it writes, so the working tree answers reads without spawning git. Nothing is read through
 * a symlink: a symlink inside an installation folder is refused, one elsewhere is left alone.
 */
export function openWorkspace(dir: string, env: GitEnv): Workspace {
  // Every committed file with its blob id, read once per sync: the jobs of a batch answer their name checks
  // from it (and from what the jobs before them committed) instead of one `ls-files` each.
  let cached: Map<string, string> | undefined;
  const listing = async () => {
    if (cached) return cached;
    const r = await git(['ls-files', '-s', '-z'], { cwd: dir, env });
    const out = new Map<string, string>();
    for (const entry of r.stdout.split('\0').filter(Boolean)) {
      const tab = entry.indexOf('\t');
      out.set(entry.slice(tab + 1), entry.split(' ')[1]!);
    }
    cached = out;
    return out;
  };
  const walkFrom = async (path: string, refuseLinks: boolean) => {
    const start = path === '.' ? '' : (await checkReal(dir, path)).replace(/^\.$/, '');
    const out: string[] = [];
    const walk = async (rel: string) => {
      const entries = await readdir(join(dir, rel), { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (rel === '' && e.name === '.git') continue;
        const p = rel ? `${rel}/${e.name}` : e.name;
        if (e.isSymbolicLink()) {
          if (refuseLinks) throw symlinkError(start || '.', p);
          continue;
        }
        if (e.isDirectory()) await walk(p);
        else out.push(p);
      }
    };
    const st = start ? await lstat(join(dir, start)).catch(() => undefined) : undefined;
    if (start && !st?.isDirectory()) return st ? [start] : [];
    await walk(start);
    return out.sort();
  };
  return {
    dir,
    list: (path) => walkFrom(path, false),
    readTree: async (path) => {
      const out = new Map<string, Buffer>();
      for (const f of await walkFrom(path, true)) out.set(f, await readFile(join(dir, f)));
      return out;
    },
    tracked: async (glob) => [...filterListing(await listing(), glob).keys()],
    blobs: async (glob) => filterListing(await listing(), glob),
    committed: (change) => {
      if (!cached) return;
      const prefix = `${change.dir}/`;
      for (const f of cached.keys()) if (f.startsWith(prefix)) cached.delete(f);
      for (const [f, data] of change.files) cached.set(f, blobId(data));
    },
    forget: () => {
      cached = undefined;
    },
    read: async (path) => {
      const n = await checkReal(dir, path);
      return readFile(join(dir, n), 'utf8').catch(() => undefined);
    },
  };
}

/** git's id of a blob holding `data` (the checkouts are SHA-1 repositories, made by `git init`). */
const blobId = (data: Buffer) =>
  createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');

// A `:(glob)` pathspec as a pattern: a leading or inner double star and slash for any folders (none too),
// `*` and `?` within one name.
function globPattern(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (glob.startsWith('**/', i)) {
      re += '(?:.*/)?';
      i += 2;
    } else if (glob.startsWith('**', i)) {
      re += '.*';
      i += 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The entries of a listing matching a glob pathspec, sorted by path. */
function filterListing(all: Map<string, string>, glob: string): Map<string, string> {
  const re = globPattern(glob);
  return new Map([...all].filter(([f]) => re.test(f)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Replaces the change's folder in the checkout by its files; nothing is written outside the folder. */
export async function writeChange(ws: Workspace, change: Change): Promise<void> {
  const owned = await checkReal(ws.dir, change.dir);
  if (owned === '.')
    throw new AppError('TARGET_PATH_INVALID', 'an installation never owns the repository root');
  const prefix = `${owned}/`;
  for (const path of change.files.keys()) {
    if (!path.startsWith(prefix)) {
      throw new AppError('RENDER_INVALID', `${path} lies outside the installation folder ${owned}`);
    }
  }
  await rm(join(ws.dir, owned), { recursive: true, force: true });
  for (const [path, data] of change.files) {
    const n = checkTargetPath(path, 'path');
    await mkdir(dirname(join(ws.dir, n)), { recursive: true });
    await writeFile(join(ws.dir, n), data);
  }
}
