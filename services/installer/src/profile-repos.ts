import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError, describeError, type SecretRef } from '@profiles/shared';
import { gitEnvironment, runGit as git, type GitAccess, type GitEnv } from '@profiles/shared/git';
import { KeyedMutex } from './keyed-mutex.ts';

/**
 * Read access to profile repositories: one bare cache repository per URL, refs fetched on demand. A tag is
 * fetched once per process and credential (tags are treated as immutable); a branch on every resolve. File
 * reads go through one `git cat-file --batch` per folder and are cached by commit, which never changes.
 *
 * The tag cache never widens access: a tag is served from it only to a request that brings a credential the
 * tag was fetched with (by the secret's content, so a rotated secret fetches again), or when it was fetched
 * anonymously (then anyone may read it anyway). Any other request fetches, and the remote decides.
 */
export class ProfileRepos {
  private readonly mutex = new KeyedMutex();
  /** url|tag -> commit and the credentials (fingerprints, '' = anonymous) it was fetched with. */
  private readonly resolved = new Map<string, { commit: string; by: Set<string> }>();
  private readonly trees = new Map<string, Map<string, Buffer>>();
  /** Single files by commit (each install reads its profile.yaml): a git process saved per install. */
  private readonly files = new Map<string, Buffer | undefined>();

  constructor(
    private readonly cacheDir: string,
    private readonly access: GitAccess,
  ) {}

  private get env(): GitEnv {
    return this.access.base;
  }

  private repoDir(url: string): string {
    return join(this.cacheDir, createHash('sha256').update(url).digest('hex').slice(0, 24));
  }

  /** The commit a tag or branch points to, fetching it first. */
  async resolve(url: string, ref: { tag?: string; branch?: string }, secretRef?: SecretRef): Promise<string> {
    this.access.check(url, 'profile repository');
    const key = `${url}|${ref.tag ? `t:${ref.tag}` : `b:${ref.branch}`}`;
    const who = secretRef ? await this.fingerprint(url, secretRef) : '';
    const cached = () => {
      const e = ref.tag ? this.resolved.get(key) : undefined;
      return e && (e.by.has('') || e.by.has(who)) ? e.commit : undefined;
    };
    const hit = cached();
    if (hit) return hit;
    const dir = this.repoDir(url);
    return this.mutex.run(dir, async () => {
      const again = cached();
      if (again) return again;
      const created = !(await stat(dir).catch(() => undefined));
      if (created) {
        await mkdir(dir, { recursive: true });
        await git(['init', '--bare', '-q', dir], { env: this.env });
      }
      const local = ref.tag ? `refs/tags/${ref.tag}` : `refs/remotes/src/${ref.branch}`;
      const remote = ref.tag ? `refs/tags/${ref.tag}` : `refs/heads/${ref.branch}`;
      const creds = await this.access.open(url, secretRef, 'profile repository');
      try {
        await git(['fetch', '--no-tags', '-q', '--', url, `+${remote}:${local}`], {
          cwd: dir,
          env: creds.env,
          timeoutMs: 120_000,
        });
      } catch (err) {
        // A cache made for a URL that never answered holds nothing: do not leave one per failed request.
        if (created) await rm(dir, { recursive: true, force: true });
        const what = ref.tag ? `tag ${ref.tag}` : `branch ${ref.branch}`;
        const msg = describeError(err);
        const missing = /couldn't find remote ref|not our ref|invalid refspec/i.test(msg);
        throw new AppError(
          missing ? 'VERSION_NOT_FOUND' : 'GIT_FAILED',
          missing
            ? `profile repository ${url} has no ${what}`
            : `profile repository ${url} is unreachable (${what}): ${msg.replace(/^git fetch failed: /, '')}`,
          { cause: err, details: { url, ...ref } },
        );
      } finally {
        await creds.cleanup();
      }
      const commit = (
        await git(['rev-parse', `${local}^{commit}`], { cwd: dir, env: this.env })
      ).stdout.trim();
      if (ref.tag) {
        const e = this.resolved.get(key);
        if (e?.commit === commit) e.by.add(who);
        else this.resolved.set(key, { commit, by: new Set([who]) });
      }
      return commit;
    });
  }

  /** Who a secret makes the caller: a hash of its content (never the content itself). */
  private async fingerprint(url: string, ref: SecretRef): Promise<string> {
    const s = await this.access.secret(ref, url);
    const sorted = Object.keys(s)
      .sort()
      .map((k) => [k, s[k]]);
    return createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
  }

  /** Tags of a remote repository (for `latest` and available updates). */
  async remoteTags(url: string, pattern: string, secretRef?: SecretRef): Promise<string[]> {
    const creds = await this.access.open(url, secretRef, 'profile repository');
    try {
      const out = await git(['ls-remote', '--tags', '--refs', '--', url, `refs/tags/${pattern}`], {
        env: creds.env,
        timeoutMs: 60_000,
      });
      return out.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[1]!.replace(/^refs\/tags\//, ''));
    } finally {
      await creds.cleanup();
    }
  }

  /** Every file under `dir` at `commit`, keyed by its path relative to `dir`. */
  async readTree(url: string, commit: string, dir: string): Promise<Map<string, Buffer>> {
    const key = `${url}|${commit}|${dir}`;
    const hit = this.trees.get(key);
    if (hit) return hit;
    const repo = this.repoDir(url);
    const prefix = dir === '' || dir === '.' ? '' : `${dir.replace(/\/+$/, '')}/`;
    const ls = await git(['ls-tree', '-r', '-z', '--full-tree', commit, ...(prefix ? ['--', prefix] : [])], {
      cwd: repo,
      env: this.env,
    });
    const entries = ls.stdout
      .split('\0')
      .filter(Boolean)
      .map((l) => {
        const [meta, path] = l.split('\t') as [string, string];
        return { sha: meta.split(' ')[2]!, path, type: meta.split(' ')[1] };
      })
      .filter((e) => e.type === 'blob');
    const blobs = await catFileBatch(
      repo,
      entries.map((e) => e.sha),
      this.env,
    );
    const out = new Map<string, Buffer>();
    entries.forEach((e, i) => out.set(e.path.slice(prefix.length), blobs[i]!));
    if (this.trees.size > 500) this.trees.delete(this.trees.keys().next().value!);
    this.trees.set(key, out);
    return out;
  }

  /** One file, or undefined when it does not exist. */
  async readFile(url: string, commit: string, path: string): Promise<Buffer | undefined> {
    const key = `${url}|${commit}|${path}`;
    if (this.files.has(key)) return this.files.get(key);
    const r = await git(['cat-file', 'blob', `${commit}:${path}`], {
      cwd: this.repoDir(url),
      env: this.env,
      allowFail: true,
    });
    const out = r.code === 0 ? r.bytes : undefined;
    if (this.files.size > 500) this.files.delete(this.files.keys().next().value!);
    this.files.set(key, out);
    return out;
  }
}

function catFileBatch(repo: string, shas: string[], env: GitEnv): Promise<Buffer[]> {
  if (shas.length === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['cat-file', '--batch'], {
      cwd: repo,
      env: gitEnvironment(env),
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new AppError('GIT_FAILED', `git cat-file exited with ${code}`));
      const all = Buffer.concat(chunks);
      const out: Buffer[] = [];
      let pos = 0;
      for (let i = 0; i < shas.length; i++) {
        const nl = all.indexOf(0x0a, pos);
        const header = all.subarray(pos, nl).toString('utf8').split(' ');
        const size = Number(header[2]);
        out.push(all.subarray(nl + 1, nl + 1 + size));
        pos = nl + 1 + size + 1;
      }
      resolve(out);
    });
    child.stdin.end(shas.join('\n') + '\n');
  });
}
