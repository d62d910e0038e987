/**
 * Test helpers for the installer: real bare git repositories over file:// (the profiles-examples fixture and
 * empty GitOps repositories), in-process installers and an API wired to JetStream, and a local HTTP stand-in of
 * the GitHub, GitLab and Gitea pull-request APIs.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { TERMINAL_STATUSES, type UrlPolicy } from '@profiles/shared';
import { connectRedis, type Redis } from '@profiles/shared/runtime';
import type { SecretProvider } from '@profiles/shared/git';
import { buildApp } from '../../services/api/src/app.ts';
import { start as startInstaller, type Installer } from '../../services/installer/src/start.ts';
import { getJson, testLogger, waitFor, type Stack } from './index.ts';
import { FIXTURE_BUNDLE } from './git.ts';

/** The URL nested profiles in the fixture point at; tests rewrite it to the local bare clone. */
export const EXAMPLES_URL = 'https://github.com/weaveworks/profiles-examples';

export function gitSync(args: string[], cwd?: string): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_TERMINAL_PROMPT: '0',
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@t',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@t',
    },
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A bare clone of the profiles-examples fixture (all tags and branches). */
export function examplesRepo(dir: string): string {
  const bare = join(dir, 'profiles-examples.git');
  gitSync(['clone', '-q', '--bare', FIXTURE_BUNDLE, bare]);
  return bare;
}

/** A bare GitOps repository with one commit on `main`. */
export function gitopsRepo(dir: string, name = 'gitops'): string {
  const bare = join(dir, `${name}.git`);
  gitSync(['init', '-q', '--bare', '-b', 'main', bare]);
  const work = join(dir, `${name}-seed`);
  gitSync(['clone', '-q', bare, work]);
  execFileSync('sh', ['-c', 'echo "# gitops" > README.md'], { cwd: work });
  gitSync(['add', 'README.md'], work);
  gitSync(['commit', '-q', '-m', 'init'], work);
  gitSync(['push', '-q', 'origin', 'HEAD:main'], work);
  return bare;
}

/** A bare profile repository from a map of files, tagged with each of `tags` (all on one commit). */
export function profileRepo(
  dir: string,
  name: string,
  files: Record<string, string>,
  tags: string[],
): string {
  const bare = join(dir, `${name}.git`);
  gitSync(['init', '-q', '--bare', '-b', 'main', bare]);
  const work = join(dir, `${name}-seed`);
  gitSync(['init', '-q', '-b', 'main', work]);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    writeFileSync(join(work, path), content);
  }
  gitSync(['add', '-A'], work);
  gitSync(['commit', '-q', '-m', 'profiles'], work);
  for (const t of tags) gitSync(['tag', t], work);
  gitSync(['push', '-q', '--tags', bare, 'HEAD:main'], work);
  return bare;
}

export interface InstallerStack {
  api: string;
  redis: Redis;
  installers: Installer[];
  addInstaller: () => Promise<Installer>;
  close: () => Promise<void>;
}

export async function startInstallerStack(
  stack: Stack,
  examples: string,
  count = 1,
  /** `secretsDir`: the folder of Secret YAML the installers resolve secretRefs from; `secrets`: another source. */
  opts: { secretsDir?: string; secrets?: SecretProvider; urlPolicy?: Partial<UrlPolicy> } = {},
): Promise<InstallerStack> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const redis = connectRedis(stack.redis.url, testLogger('installer-test'), 'installer-test');
  const apiNats = await stack.jetstream();
  const app = await buildApp({ redis, redisPrefix: stack.prefix, log: testLogger('api'), nats: apiNats });
  const api = await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => app.close());
  const installers: Installer[] = [];
  const addInstaller = async () => {
    const h = await stack.jetstream();
    const r = connectRedis(stack.redis.url, testLogger('installer'), 'installer', { autoPipelining: false });
    const workDir = await mkdtemp(join(tmpdir(), 'installer-work-'));
    const ins = await startInstaller({
      js: h.js,
      jsm: h.jsm,
      nc: h.nc,
      redis: r,
      redisPrefix: stack.prefix,
      log: testLogger('installer'),
      workDir,
      concurrency: 8,
      gitUrlRewrites: [`${EXAMPLES_URL}=file://${examples}`],
      urlPolicy: { allowFile: true, denyHosts: ['169.254.'], allowLoopback: true, ...opts.urlPolicy },
      ...(opts.secretsDir ? { secretsDir: opts.secretsDir } : {}),
      ...(opts.secrets ? { secrets: opts.secrets } : {}),
    });
    installers.push(ins);
    cleanups.push(async () => {
      await ins.stop();
      r.disconnect();
      await rm(workDir, { recursive: true, force: true });
    });
    return ins;
  };
  for (let i = 0; i < count; i++) await addInstaller();
  return {
    api,
    redis,
    installers,
    addInstaller,
    close: async () => {
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
      redis.disconnect();
    },
  };
}

export interface PrStandIn {
  url: string;
  /** Pull requests created, per provider. */
  created: {
    provider: string;
    repo: string;
    head: string;
    base: string;
    title: string;
    body: string;
    number: number;
  }[];
  close: () => Promise<void>;
}

/** A stand-in of the three providers' pull-request endpoints, keeping state in memory. */
export async function startPrStandIn(): Promise<PrStandIn> {
  const created: PrStandIn['created'] = [];
  let next = 1;
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const gh = /^\/(api\/v1\/)?repos\/([^/]+\/[^/]+)\/pulls$/.exec(u.pathname);
      const gl = /^\/api\/v4\/projects\/([^/]+)\/merge_requests$/.exec(u.pathname);
      if (gh) {
        const provider = gh[1] ? 'gitea' : 'github';
        const repo = gh[2]!;
        const mine = created.filter((p) => p.provider === provider && p.repo === repo);
        if (req.method === 'GET') {
          const head = u.searchParams.get('head');
          const list =
            provider === 'github' && head
              ? mine.filter((p) => `${repo.split('/')[0]}:${p.head}` === head)
              : mine;
          return send(
            200,
            list.map((p) => ({ number: p.number, html_url: `http://pr/${p.number}`, head: { ref: p.head } })),
          );
        }
        const b = JSON.parse(raw) as { title: string; body: string; head: string; base: string };
        if (mine.some((p) => p.head === b.head))
          return send(422, { message: 'A pull request already exists' });
        const pr = { provider, repo, ...b, number: next++ };
        created.push(pr);
        return send(201, { number: pr.number, html_url: `http://pr/${pr.number}` });
      }
      if (gl) {
        const repo = decodeURIComponent(gl[1]!);
        const mine = created.filter((p) => p.provider === 'gitlab' && p.repo === repo);
        if (req.method === 'GET') {
          const sb = u.searchParams.get('source_branch');
          return send(
            200,
            mine
              .filter((p) => p.head === sb)
              .map((p) => ({ iid: p.number, web_url: `http://mr/${p.number}` })),
          );
        }
        const b = JSON.parse(raw) as {
          title: string;
          description: string;
          source_branch: string;
          target_branch: string;
        };
        if (mine.some((p) => p.head === b.source_branch)) return send(409, { message: 'exists' });
        const pr = {
          provider: 'gitlab',
          repo,
          title: b.title,
          body: b.description,
          head: b.source_branch,
          base: b.target_branch,
          number: next++,
        };
        created.push(pr);
        return send(201, { iid: pr.number, web_url: `http://mr/${pr.number}` });
      }
      send(404, { message: 'not found' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}`,
    created,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** The calls a test makes against the installations API, and reads of the committed tree of a bare repo. */
export function installerClient(api: string) {
  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    getJson(`${api}${url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const settle = async (id: string, timeoutMs = 30_000) =>
    waitFor(
      async () => {
        const r = await getJson(`${api}/v1/installations/${id}`);
        return TERMINAL_STATUSES.includes(r.body.status) ? r.body : undefined;
      },
      { timeoutMs, what: `installation ${id} to finish` },
    );
  /** Posts and waits for the result; asserts the 202. */
  const run = async (url: string, body: unknown) => {
    const r = await post(url, body);
    if (r.status !== 202) throw new Error(`${url} answered ${r.status}: ${JSON.stringify(r.body)}`);
    return settle(r.body.id as string);
  };
  return { post, settle, run };
}

/**
 * Every committed file under `prefix` of a bare repository's `ref`, with its content: two git processes
 * whatever the number of files (ls-tree, then one `cat-file --batch` for every blob).
 */
export function committedTree(repo: string, prefix: string, ref = 'main'): Map<string, string> {
  const out = new Map<string, string>();
  const entries = gitSync(['ls-tree', '-r', '-z', ref, '--', prefix], repo)
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const [meta, path] = line.split('\t') as [string, string];
      return { sha: meta.split(' ')[2]!, path };
    });
  if (!entries.length) return out;
  const blobs = execFileSync('git', ['cat-file', '--batch'], {
    cwd: repo,
    input: entries.map((e) => e.sha).join('\n') + '\n',
    maxBuffer: 256 * 1024 * 1024,
  });
  let at = 0;
  for (const e of entries) {
    const eol = blobs.indexOf(0x0a, at);
    const size = Number(blobs.subarray(at, eol).toString().split(' ')[2]);
    out.set(e.path, blobs.subarray(eol + 1, eol + 1 + size).toString('utf8'));
    at = eol + 1 + size + 1;
  }
  return out;
}

/** The `git-creds` Secret (user `deploy`), bound (its `repositories` key) to the repositories under `url`. */
export function gitCredsSecret(password: string, url: string): string {
  return (
    'apiVersion: v1\nkind: Secret\nmetadata:\n  name: git-creds\n  namespace: default\n' +
    `stringData:\n  username: deploy\n  password: ${password}\n  repositories: ${url.replace(/\/+$/, '')}/\n`
  );
}

/** A folder of Secrets with `git-creds` (username `deploy`, the given password, bound to `url`), for `secretsDir`. */
export function gitSecretsDir(dir: string, password: string, url = 'https://git.invalid/'): string {
  const secretsDir = join(dir, 'secrets');
  mkdirSync(secretsDir);
  writeFileSync(join(secretsDir, 'git.yaml'), gitCredsSecret(password, url));
  return secretsDir;
}
