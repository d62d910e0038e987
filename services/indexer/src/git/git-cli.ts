import { spawn } from 'node:child_process';
import { gitErrorSummary } from '@profiles/shared';

/**
 * Runs the git CLI: always an argument array (never a shell string), never a terminal prompt, a time limit
 * per call, and output capped. Credentials come in through `env` (GIT_CONFIG_* / GIT_SSH_COMMAND), so they
 * appear neither in argv nor in logs.
 */
export interface GitResult {
  stdout: Buffer;
  stderr: string;
}

export class GitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'GitError';
  }
}

export interface GitOptions {
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs: number;
  input?: string;
  maxOutputBytes?: number;
}

/** Counts git processes started, for benchmarks and tests of incremental scans. */
export const gitStats = { spawns: 0, byCommand: new Map<string, number>() };

/** Removes `user:password@` from URLs inside a message. */
export function redactCredentials(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
}

export function git(args: string[], opts: GitOptions): Promise<GitResult> {
  gitStats.spawns++;
  gitStats.byCommand.set(args[0] ?? '', (gitStats.byCommand.get(args[0] ?? '') ?? 0) + 1);
  const max = opts.maxOutputBytes ?? 64 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: opts.cwd,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        GIT_TERMINAL_PROMPT: '0',
        GIT_ASKPASS: 'true',
        SSH_ASKPASS: 'true',
        GIT_CONFIG_NOSYSTEM: '1',
        LC_ALL: 'C',
        ...opts.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let killedFor: string | undefined;
    const timer = setTimeout(() => {
      killedFor = `timed out after ${opts.timeoutMs} ms`;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
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
      if (killedFor)
        return reject(new GitError(`git ${args[0]} ${killedFor}`, code, redactCredentials(stderr)));
      if (code !== 0) {
        const last = redactCredentials(gitErrorSummary(stderr));
        return reject(
          new GitError(
            `git ${args[0]} failed: ${last || `exit code ${code}`}`,
            code,
            redactCredentials(stderr),
          ),
        );
      }
      resolve({ stdout: Buffer.concat(out), stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
