import { spawn } from 'node:child_process';
import { AppError } from '../errors.ts';
import { gitErrorSummary } from '../git-errors.ts';
import { redactSecrets, redactUrl } from '../redact.ts';
import { inSpan, SpanKind } from '../tracing.ts';

/**
 * Additions to git's environment for one call: config entries (`GIT_CONFIG_KEY_n`: URL rewrites, credential
 * headers) and plain variables (`GIT_SSH_COMMAND`). Credentials travel only here, never in argv or a URL.
 */
export interface GitEnv {
  config: [string, string][];
  extra?: Record<string, string>;
  /**
   * Run git as the user who started the process (the CLI's local render): their environment, credential
   * helpers and ssh agent. Services never set it.
   */
  asUser?: boolean;
}

export const emptyGitEnv: GitEnv = { config: [] };

export interface GitOptions {
  cwd?: string;
  env?: GitEnv;
  /** Killed after this long (default 60 s). */
  timeoutMs?: number;
  input?: string;
  /** Killed when stdout grows past this (default 64 MiB). */
  maxOutputBytes?: number;
  /** Resolve with the exit code instead of throwing when git exits non-zero. */
  allowFail?: boolean;
}

/** What a git call printed: `bytes` as is, `stdout` the same as text (decoded on first use). */
export class GitResult {
  private text: string | undefined;

  constructor(
    readonly bytes: Buffer,
    readonly stderr: string,
    readonly code: number,
  ) {}

  get stdout(): string {
    this.text ??= this.bytes.toString('utf8');
    return this.text;
  }
}

/** A failed git call: GIT_FAILED with git's own words (credentials redacted). */
export class GitError extends AppError {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super('GIT_FAILED', message);
    this.name = 'GitError';
  }
}

/** Counts git processes started, for benchmarks and tests of incremental scans. */
export const gitStats = { spawns: 0, byCommand: new Map<string, number>() };

const IDENTITY = 'profiles';

const CONNECT_FAILURE =
  /Failed to connect|Could not resolve host|Connection refused|Connection timed out|Operation timed out|Empty reply from server|Recv failure|Connection reset|No route to host|Network is unreachable|ssh: connect to host|ssh: Could not resolve/i;

/**
 * git's whole environment: nothing of the process but PATH and HOME (no inherited GIT_* or proxy settings, no
 * system config), no prompts, a fixed locale (messages are parsed) and an author for commits.
 */
export function gitEnvironment(env: GitEnv = emptyGitEnv): Record<string, string> {
  const inherited = env.asUser ? (process.env as Record<string, string>) : {};
  // Services never follow a redirect: http.extraHeader credentials would go along to the other origin, and a
  // redirect could lead past the address policy.
  const config: [string, string][] = env.asUser
    ? env.config
    : [['http.followRedirects', 'false'], ...env.config];
  const out: Record<string, string> = {
    ...inherited,
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: 'true',
    SSH_ASKPASS: 'true',
    GIT_CONFIG_NOSYSTEM: '1',
    LC_ALL: 'C',
    GIT_AUTHOR_NAME: `${IDENTITY}-installer`,
    GIT_AUTHOR_EMAIL: `${IDENTITY}-installer@localhost`,
    GIT_COMMITTER_NAME: `${IDENTITY}-installer`,
    GIT_COMMITTER_EMAIL: `${IDENTITY}-installer@localhost`,
    ...env.extra,
  };
  // The user's own GIT_CONFIG_* entries (asUser) come first; ours are appended after them.
  const first = Number(inherited.GIT_CONFIG_COUNT ?? 0) || 0;
  config.forEach(([k, v], i) => {
    out[`GIT_CONFIG_KEY_${first + i}`] = k;
    out[`GIT_CONFIG_VALUE_${first + i}`] = v;
  });
  out.GIT_CONFIG_COUNT = String(first + config.length);
  return out;
}

/**
 * Runs the git CLI: an argument array (never a shell), the minimal environment above, a time limit and an
 * output cap. The one runner of the indexer and the installer; each call is a span named for the command
 * (`git fetch`, `git push`) with the repository it talks to.
 */
export function runGit(args: string[], opts: GitOptions = {}): Promise<GitResult> {
  const remote = args.find((a) => /^[a-z][a-z0-9+.-]*:\/\//i.test(a));
  return inSpan(
    `git ${args[0] ?? ''}`,
    { kind: SpanKind.CLIENT, attributes: remote ? { 'profiles.repository': redactUrl(remote) } : {} },
    () => spawnGit(args, opts),
  );
}

function spawnGit(args: string[], opts: GitOptions): Promise<GitResult> {
  gitStats.spawns++;
  gitStats.byCommand.set(args[0] ?? '', (gitStats.byCommand.get(args[0] ?? '') ?? 0) + 1);
  const max = opts.maxOutputBytes ?? 64 * 1024 * 1024;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: opts.cwd,
      env: gitEnvironment(opts.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let killedFor: string | undefined;
    const timer = setTimeout(() => {
      killedFor = `timed out after ${timeoutMs} ms`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      size += d.length;
      if (size > max) {
        killedFor = `output larger than ${max} bytes`;
        child.kill('SIGKILL');
        return;
      }
      out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8192);
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new GitError(`git ${args[0]} could not start: ${err.message}`, null, ''));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const safe = redactSecrets(stderr);
      if (killedFor) return reject(new GitError(`git ${args[0]} ${killedFor}`, code, safe));
      if (code !== 0 && !opts.allowFail) {
        // Every way of not reaching a server reads the same, as does a refused address (GitAccess.reach): a
        // caller cannot map which internal ports are open.
        const why = CONNECT_FAILURE.test(stderr)
          ? 'could not connect to the server'
          : redactSecrets(gitErrorSummary(stderr));
        return reject(new GitError(`git ${args[0]} failed: ${why || `exit code ${code}`}`, code, safe));
      }
      resolve(new GitResult(Buffer.concat(out), safe, code ?? 1));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** `from=to` pairs (GIT_URL_REWRITES) as git `insteadOf` config. */
export function rewriteConfig(rewrites: string[]): [string, string][] {
  return rewrites.flatMap((r) => {
    const i = r.indexOf('=');
    if (i <= 0) return [];
    return [[`url.${r.slice(i + 1)}.insteadOf`, r.slice(0, i)] as [string, string]];
  });
}
