import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError, type ErrorCode } from '../errors.ts';
import type { GitEnv } from './run.ts';
import type { SecretData } from './secrets.ts';

export interface GitCredentials {
  env: GitEnv;
  /** Removes the files written for this call (an ssh key, known hosts). */
  cleanup: () => Promise<void>;
}

export interface SshOptions {
  /** A known_hosts file of the operator (GIT_SSH_KNOWN_HOSTS), trusted besides a secret's `known_hosts`. */
  knownHostsFile?: string | undefined;
  /** Connect to this judged address (not a new DNS answer); check the host key under `alias` (the URL's name). */
  pin?: { address: string; alias: string };
}

const none = async () => undefined;

/**
 * The environment one git call needs for a repository URL and its secret (if any):
 * - https: `username`/`password` (or `token`) become an `http.extraHeader` Authorization entry, never part of
 *   the URL or argv;
 * - ssh: `identity` (a private key) is written to a file only we can read. The one host-key rule: hosts are
 *   checked strictly against the secret's `known_hosts` and the operator's file; with neither, every host is
 *   unknown and refused (never "accept new").
 */
export async function gitCredentials(
  secret: SecretData | undefined,
  scheme: string,
  base: GitEnv,
  opts: SshOptions & { code?: ErrorCode; what?: string } = {},
): Promise<GitCredentials> {
  const code = opts.code ?? 'BAD_REQUEST';
  const what = opts.what ?? 'the secret';
  if (scheme === 'http' || scheme === 'https') {
    if (!secret) return { env: base, cleanup: none };
    const pass = secret.password ?? secret.token;
    const user = secret.username ?? (secret.token ? 'x-access-token' : undefined);
    if (!user || pass === undefined)
      throw new AppError(code, `${what} has neither username/password nor token`);
    const basic = Buffer.from(`${user}:${pass}`).toString('base64');
    return {
      env: { ...base, config: [...base.config, ['http.extraHeader', `Authorization: Basic ${basic}`]] },
      cleanup: none,
    };
  }
  if (scheme !== 'ssh') return { env: base, cleanup: none };
  if (secret && !secret.identity) throw new AppError(code, `${what} has no identity (ssh private key)`);
  const dir = await mkdtemp(join(tmpdir(), 'profiles-ssh-'));
  await chmod(dir, 0o700);
  const files: string[] = [];
  const args = ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes'];
  if (secret?.identity) {
    const key = join(dir, 'identity');
    await writeFile(key, secret.identity.endsWith('\n') ? secret.identity : `${secret.identity}\n`, {
      mode: 0o600,
    });
    args.push('-i', key, '-o', 'IdentitiesOnly=yes');
  }
  if (secret?.known_hosts) {
    files.push(join(dir, 'known_hosts'));
    await writeFile(files[0]!, secret.known_hosts, { mode: 0o600 });
  }
  if (opts.knownHostsFile) files.push(opts.knownHostsFile);
  if (opts.pin) args.push('-o', `HostName=${opts.pin.address}`, '-o', `HostKeyAlias=${opts.pin.alias}`);
  args.push('-o', `UserKnownHostsFile=${files.length ? files.join(' ') : '/dev/null'}`);
  args.push('-o', 'GlobalKnownHostsFile=/dev/null');
  return {
    env: { ...base, extra: { ...base.extra, GIT_SSH_COMMAND: `ssh ${args.map(quoteArg).join(' ')}` } },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** GIT_SSH_COMMAND is run by a shell: quote what could hold a space (temp paths, the operator's file). */
function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}
