/**
 * Real git repositories for tests: bare repositories made from the shared fixture bundle or from scratch,
 * served over file:// or over git's own smart HTTP backend (`git http-backend` as CGI behind node:http),
 * optionally behind basic auth, or over ssh by a real sshd.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, spawnGuarded, waitForPort } from '../../scripts/lib/processes.ts';

const run = promisify(execFile);
// The shared fixtures sit beside the checkout (../shared); a git worktree one level deeper finds them too, and
// so does a local clone made elsewhere (beside the repository it was cloned from).
const BUNDLE = 'fixtures/profiles-examples.bundle';
export const FIXTURE_BUNDLE =
  process.env.PROFILES_FIXTURE_BUNDLE ??
  [
    join(import.meta.dirname, '../../../shared', BUNDLE),
    join(import.meta.dirname, '../../../../shared', BUNDLE),
    ...besideOrigin(),
  ].find((p) => existsSync(p)) ??
  join(import.meta.dirname, '../../../shared', BUNDLE);

function besideOrigin(): string[] {
  try {
    const origin = execFileSync('git', ['config', '--get', 'remote.origin.url'], {
      cwd: import.meta.dirname,
      encoding: 'utf8',
    }).trim();
    const path = origin.startsWith('file://') ? origin.slice('file://'.length) : origin;
    return isAbsolute(path) ? [join(path, '../shared', BUNDLE)] : [];
  } catch {
    return [];
  }
}

export async function sh(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', args, {
    cwd,
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@t',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@t',
    },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** A bare clone of the profiles-examples fixture, with all its tags and branches, under `root`. */
export async function fixtureRepo(root: string, name = 'profiles-examples.git'): Promise<string> {
  const bare = join(root, name);
  await run('git', ['clone', '--quiet', '--bare', '--', FIXTURE_BUNDLE, bare]);
  return bare;
}

/** A working clone of a bare repository, to commit and tag in. */
export async function workClone(bare: string, root: string): Promise<string> {
  const dir = await mkdtemp(join(root, 'work-'));
  await run('git', ['clone', '--quiet', '--', bare, dir]);
  return dir;
}

export async function commitFile(
  work: string,
  path: string,
  content: string,
  message = `update ${path}`,
): Promise<string> {
  await mkdir(dirname(join(work, path)), { recursive: true });
  await writeFile(join(work, path), content);
  await sh(work, 'add', '--', path);
  await sh(work, 'commit', '--quiet', '-m', message);
  return (await sh(work, 'rev-parse', 'HEAD')).trim();
}

export function profileYaml(name: string, description = `the ${name} profile`, artifacts = ''): string {
  return `apiVersion: weave.works/v1alpha1
kind: ProfileDefinition
metadata:
  name: ${name}
spec:
  description: ${description}
  maintainer: tests
  artifacts:
    # A chart from a Helm repository: the profile needs no files beside profile.yaml to pass the checks.
    - name: app
      chart:
        url: https://charts.example.com/stable
        name: app
        version: 1.0.0
${artifacts}`;
}

export interface GitHttpServer {
  url: string;
  /** requests served, for tests that count fetches */
  requests: number;
  close: () => Promise<void>;
}

/**
 * Serves every repository under `root` at `<url>/<name>.git` through `git http-backend`. With `auth`, requests
 * without the right basic credentials get 401.
 */
export async function startGitHttp(
  root: string,
  auth?: { username: string; password: string },
): Promise<GitHttpServer> {
  const execPath = (await run('git', ['--exec-path'])).stdout.trim();
  const state = { requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests++;
    if (auth) {
      const expected = 'Basic ' + Buffer.from(`${auth.username}:${auth.password}`).toString('base64');
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end('unauthorized');
        return;
      }
    }
    const u = new URL(req.url ?? '/', 'http://localhost');
    const cgi = spawn(join(execPath, 'git-http-backend'), [], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(u.pathname),
        QUERY_STRING: u.search.replace(/^\?/, ''),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        REMOTE_USER: auth?.username ?? '',
        REMOTE_ADDR: '127.0.0.1',
      },
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const i = line.indexOf(':');
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = parseInt(v, 10);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.stdout.on('end', () => res.end());
    cgi.on('error', () => res.writeHead(500).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export async function tempRoot(prefix = 'git-'): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface GitSshServer {
  /** `ssh://<user>@127.0.0.1:<port>`; a repository is `<url><absolute path of the bare repository>` */
  url: string;
  /** The private key sshd accepts (OpenSSH format), for a Secret's `identity`. */
  identity: string;
  /** A known_hosts line for the server's host key, for a Secret's `known_hosts`. */
  knownHosts: string;
  close: () => Promise<void>;
}

/** Where Debian's openssh-server puts sshd (.ci/run installs it); PROFILES_SSHD overrides. */
const SSHD = process.env.PROFILES_SSHD ?? '/usr/sbin/sshd';

/**
 * A real sshd on a free loopback port that serves git (git-upload-pack / git-receive-pack run as the current
 * user) to one ed25519 key, made here with its own host key: for the ssh-credential paths of the indexer and
 * the installer. Throws when sshd is not installed.
 */
export async function startGitSsh(): Promise<GitSshServer> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} not found: install openssh-server (.ci/run does)`);
  const dir = await mkdtemp(join(tmpdir(), 'sshd-'));
  const keygen = (file: string) =>
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', file]);
  await keygen(join(dir, 'host'));
  await keygen(join(dir, 'client'));
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'client.pub')), { mode: 0o600 });
  const port = await freePort();
  const user = userInfo().username;
  await writeFile(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no', // the key files live in a temp dir
      'PermitRootLogin prohibit-password', // CI runs as root
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  // sshd wants its privilege-separation directory even when it never drops to it.
  await mkdir('/run/sshd', { recursive: true }).catch(() => undefined);
  const sshd = spawnGuarded(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')]);
  await waitForPort(port);
  const hostKey = (await readFile(join(dir, 'host.pub'), 'utf8')).split(' ').slice(0, 2).join(' ');
  return {
    url: `ssh://${user}@127.0.0.1:${port}`,
    identity: await readFile(join(dir, 'client'), 'utf8'),
    knownHosts: `[127.0.0.1]:${port} ${hostKey}\n`,
    close: async () => {
      await sshd.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
