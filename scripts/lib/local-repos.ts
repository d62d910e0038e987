import { execFile } from 'node:child_process';
import { access, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import semver from 'semver';

/**
 * The git repositories `npm start` installs from and into, built on this machine so the first install works
 * offline:
 *
 * - the **profile repository** `.local/git/profiles.git`, made from `examples/profiles/<profile>/<version>/`:
 *   one commit per folder (in version order) that puts it at `<profile>/`, tagged `<profile>/v<version>`;
 * - the **GitOps repository** `.local/git/gitops.git` (branch `main`), the target of the printed install
 *   command, created once and then kept: what was installed into it survives a restart.
 *
 * Commits carry fixed dates and author, so rebuilding gives the same commits: a restart pushes only tags that
 * are new in `examples/` and leaves tags pushed by hand (a newer version you published) alone.
 */
const run = promisify(execFile);

/** Written into a profile.yaml where it names the profile repository itself (nested profiles). */
export const PROFILES_REPO_PLACEHOLDER = '${PROFILES_REPO}';

export interface LocalRepos {
  profilesDir: string;
  profilesUrl: string;
  gitopsDir: string;
  gitopsUrl: string;
  /** `<profile>/v<version>` tags the examples define, in the order they were committed. */
  tags: string[];
  /** Tags the profile repository already holds with other commits (examples edited since it was built). */
  conflicts: string[];
}

const IDENTITY = [
  '-c',
  'user.name=Profiles examples',
  '-c',
  'user.email=examples@profiles.invalid',
  '-c',
  'commit.gpgsign=false',
  '-c',
  'tag.gpgsign=false',
  '-c',
  'init.defaultBranch=main',
];

async function git(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await run('git', [...IDENTITY, ...args], {
    cwd,
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/** Every `examples/profiles/<profile>/<version>/`, oldest version first (then by name). */
export async function exampleReleases(examplesDir: string): Promise<{ profile: string; version: string }[]> {
  const out: { profile: string; version: string }[] = [];
  for (const profile of (await readdir(examplesDir, { withFileTypes: true })).filter((d) =>
    d.isDirectory(),
  )) {
    for (const v of await readdir(join(examplesDir, profile.name), { withFileTypes: true })) {
      if (!v.isDirectory()) continue;
      if (!semver.valid(v.name))
        throw new Error(`examples/profiles/${profile.name}/${v.name}: not a version`);
      out.push({ profile: profile.name, version: v.name });
    }
  }
  return out.sort((a, b) => semver.compare(a.version, b.version) || a.profile.localeCompare(b.profile));
}

/** Copies one release into the work tree at `<profile>/`, naming the repository where a profile asks. */
async function placeRelease(
  examplesDir: string,
  work: string,
  profile: string,
  version: string,
  url: string,
) {
  await rm(join(work, profile), { recursive: true, force: true });
  await cp(join(examplesDir, profile, version), join(work, profile), { recursive: true });
  const file = join(work, profile, 'profile.yaml');
  const text = await readFile(file, 'utf8');
  if (text.includes(PROFILES_REPO_PLACEHOLDER))
    await writeFile(file, text.split(PROFILES_REPO_PLACEHOLDER).join(url));
}

async function buildProfilesRepo(examplesDir: string, bare: string, url: string) {
  const releases = await exampleReleases(examplesDir);
  const work = await mkdtemp(join(tmpdir(), 'profiles-examples-'));
  try {
    await git(work, ['init', '-q']);
    const tags: string[] = [];
    for (const [i, r] of releases.entries()) {
      await placeRelease(examplesDir, work, r.profile, r.version, url);
      await git(work, ['add', '-A']);
      const date = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
      await git(work, ['commit', '-q', '-m', `${r.profile} ${r.version}`], {
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_DATE: date,
      });
      const tag = `${r.profile}/v${r.version}`;
      await git(work, ['tag', tag]);
      tags.push(tag);
    }
    const fresh = !(await exists(bare));
    if (fresh) await git(work, ['init', '-q', '--bare', bare]);
    const conflicts: string[] = [];
    // Without --force: a tag the repository already has (with this commit, or another) stays as it is.
    const refspecs = [...(fresh ? ['main'] : []), ...tags.map((t) => `refs/tags/${t}`)];
    const pushed = await run('git', ['push', '--porcelain', bare, ...refspecs], { cwd: work }).then(
      (r) => r.stdout,
      (err: { stdout?: string }) => err.stdout ?? '',
    );
    for (const line of pushed.split('\n')) {
      const m = /^!\t(?:refs\/tags\/(\S+)|\S+):/.exec(line);
      if (m?.[1]) conflicts.push(m[1]);
    }
    return { tags, conflicts };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function ensureGitopsRepo(bare: string): Promise<void> {
  if (await exists(bare)) return;
  const work = await mkdtemp(join(tmpdir(), 'gitops-'));
  try {
    await git(work, ['init', '-q']);
    await writeFile(
      join(work, 'README.md'),
      '# GitOps repository of `npm start`\n\nProfiles commits installations below `clusters/local/`. ' +
        'On a cluster, Flux would apply this repository (its GitRepository `flux-system/flux-system`).\n',
    );
    await git(work, ['add', '-A']);
    await git(work, ['commit', '-q', '-m', 'An empty GitOps repository']);
    await git(work, ['init', '-q', '--bare', bare]);
    await git(work, ['push', '-q', bare, 'main']);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The catalog source that lists the profile repository; written into the watched folder (and git-ignored:
 * it names this machine's path). Rewritten only when it changes, so a restart sends no event.
 */
export async function writeCatalogSource(file: string, profilesUrl: string): Promise<void> {
  const text = [
    "# Written by `npm start` (scripts/lib/local-repos.ts) and not committed: it names this clone's path.",
    '# The example profiles of examples/profiles/, scanned from the local profile repository every 10 s.',
    'apiVersion: weave.works/v1alpha1',
    'kind: ProfileCatalogSource',
    'metadata:',
    '  name: examples',
    'spec:',
    '  repositories:',
    `    - url: ${profilesUrl}`,
    '      interval: 10s',
    '',
  ].join('\n');
  const old = await readFile(file, 'utf8').catch(() => undefined);
  if (old !== text) await writeFile(file, text);
}

export async function ensureLocalRepos(root: string, dataRoot: string): Promise<LocalRepos> {
  const dir = join(dataRoot, 'git');
  await mkdir(dir, { recursive: true });
  const profilesDir = join(dir, 'profiles.git');
  const gitopsDir = join(dir, 'gitops.git');
  const profilesUrl = `file://${profilesDir}`;
  const { tags, conflicts } = await buildProfilesRepo(
    join(root, 'examples/profiles'),
    profilesDir,
    profilesUrl,
  );
  await ensureGitopsRepo(gitopsDir);
  return { profilesDir, profilesUrl, gitopsDir, gitopsUrl: `file://${gitopsDir}`, tags, conflicts };
}
