import { readdir, readFile, mkdtemp, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { AppError, parseYamlDocuments, type SecretRef } from '@profiles/shared';
import type { GitEnv } from './git.ts';

/** Where secretRefs are resolved. A Kubernetes-backed provider can replace the folder one. */
export interface SecretProvider {
  get(ref: SecretRef): Promise<Record<string, string>>;
}

/** Reads `kind: Secret` YAML files from a folder (data base64, stringData plain). */
export class FolderSecretProvider implements SecretProvider {
  constructor(private readonly dir: string) {}

  async get(ref: SecretRef): Promise<Record<string, string>> {
    const ns = ref.namespace ?? 'default';
    const files = this.dir ? await readdir(this.dir).catch(() => [] as string[]) : [];
    for (const f of files.filter((n) => /\.ya?ml$/.test(n))) {
      for (const doc of parseYamlDocuments(await readFile(join(this.dir, f), 'utf8'))) {
        const d = doc as {
          kind?: string;
          metadata?: { name?: string; namespace?: string };
          data?: Record<string, string>;
          stringData?: Record<string, string>;
        };
        if (d?.kind !== 'Secret' || d.metadata?.name !== ref.name) continue;
        if ((d.metadata.namespace ?? 'default') !== ns) continue;
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(d.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
        return { ...out, ...(d.stringData ?? {}) };
      }
    }
    throw new AppError('BAD_REQUEST', `secret ${ns}/${ref.name} not found`, { details: { secretRef: ref } });
  }
}

/**
 * Git credentials from a secret, as config/environment for one git call: https `username`/`password` become
 * an Authorization header (never part of the URL); `identity` (an ssh private key) and `known_hosts` become an
 * ssh command. The returned cleanup removes the key file.
 */
export async function gitCredentials(
  provider: SecretProvider,
  ref: SecretRef | undefined,
  base: GitEnv,
): Promise<{ env: GitEnv; cleanup: () => Promise<void> }> {
  if (!ref) return { env: base, cleanup: async () => undefined };
  const s = await provider.get(ref);
  if (s.identity) {
    const dir = await mkdtemp(join(tmpdir(), 'profiles-ssh-'));
    const key = join(dir, 'id');
    await writeFile(key, s.identity.endsWith('\n') ? s.identity : `${s.identity}\n`, { mode: 0o600 });
    const opts = ['-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes'];
    if (s.known_hosts) {
      await writeFile(join(dir, 'known_hosts'), s.known_hosts, { mode: 0o600 });
      opts.push('-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes');
    }
    return {
      env: { ...base, extra: { ...base.extra, GIT_SSH_COMMAND: `ssh ${opts.join(' ')}` } },
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  }
  if (s.password !== undefined || s.token !== undefined) {
    const basic = Buffer.from(`${s.username ?? 'git'}:${s.password ?? s.token}`).toString('base64');
    return {
      env: { ...base, config: [...base.config, ['http.extraHeader', `Authorization: Basic ${basic}`]] },
      cleanup: async () => undefined,
    };
  }
  throw new AppError('BAD_REQUEST', `secret ${ref.name} has neither username/password, token nor identity`);
}
