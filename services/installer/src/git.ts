import { execFile } from 'node:child_process';
import { AppError, gitErrorSummary, inSpan, redactUrl, SpanKind } from '@profiles/shared';

/**
 * The git CLI, driven with argument arrays (never a shell), with a timeout and no prompts. Environment
 * additions carry URL rewrites and credentials as `GIT_CONFIG_*` entries, so nothing secret sits in a URL or
 * an argument list.
 */
export interface GitEnv {
  /** `url.<to>.insteadOf=<from>` and similar config entries. */
  config: [string, string][];
  extra?: Record<string, string>;
}

export interface GitResult {
  stdout: string;
  stderr: string;
  code: number;
}

export function gitEnvVars(env: GitEnv): Record<string, string> {
  const out: Record<string, string> = {
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: 'true',
    GIT_AUTHOR_NAME: 'profiles-installer',
    GIT_AUTHOR_EMAIL: 'profiles-installer@localhost',
    GIT_COMMITTER_NAME: 'profiles-installer',
    GIT_COMMITTER_EMAIL: 'profiles-installer@localhost',
    ...env.extra,
  };
  // Entries inherited from the process come first; ours are appended after them.
  const base = Number(process.env.GIT_CONFIG_COUNT ?? 0) || 0;
  env.config.forEach(([k, v], i) => {
    out[`GIT_CONFIG_KEY_${base + i}`] = k;
    out[`GIT_CONFIG_VALUE_${base + i}`] = v;
  });
  out.GIT_CONFIG_COUNT = String(base + env.config.length);
  return out;
}

/** `from=to` pairs (GIT_URL_REWRITES) as git `insteadOf` config. */
export function rewriteConfig(rewrites: string[]): [string, string][] {
  return rewrites.flatMap((r) => {
    const i = r.indexOf('=');
    if (i <= 0) return [];
    return [[`url.${r.slice(i + 1)}.insteadOf`, r.slice(0, i)] as [string, string]];
  });
}

type GitOpts = { cwd?: string; env: GitEnv; timeoutMs?: number; allowFail?: boolean; input?: string };

/** One git command, as a span named for it (`git fetch`, `git push`) with the repository it talks to. */
export async function git(args: string[], opts: GitOpts): Promise<GitResult> {
  const remote = args.find((a) => /^[a-z][a-z0-9+.-]*:\/\//i.test(a));
  return inSpan(
    `git ${args[0] ?? ''}`,
    { kind: SpanKind.CLIENT, attributes: remote ? { 'profiles.repository': redactUrl(remote) } : {} },
    () => runGit(args, opts),
  );
}

function runGit(args: string[], opts: GitOpts): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      args,
      {
        cwd: opts.cwd,
        env: { ...process.env, ...gitEnvVars(opts.env) },
        timeout: opts.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        if (err && !opts.allowFail) {
          const why = (err as { killed?: boolean }).killed ? 'timed out' : gitErrorSummary(stderr);
          reject(
            new AppError('GIT_FAILED', `git ${args[0]} failed: ${why ?? err.message}`, {
              cause: err,
              details: { args: args.filter((a) => !a.includes('@')).slice(0, 6) },
            }),
          );
          return;
        }
        resolve({ stdout, stderr, code });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}
