import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError, parseYamlDocuments, type Logger } from '@profiles/shared';

/**
 * Credentials of private repositories: a `secretRef` names a Secret in the source's namespace. https
 * repositories read `username`/`password` (or `token`), ssh ones `identity` and `known_hosts`. They reach git
 * through environment variables and files readable only by us, never through argv, and are never logged.
 */
export type SecretData = Record<string, string>;

export interface SecretProvider {
  get(namespace: string, name: string): Promise<SecretData | undefined>;
}

export const noSecrets: SecretProvider = { get: async () => undefined };

/** Secrets as `kind: Secret` YAML files in a folder (`data` base64 or `stringData`), for runs without a cluster. */
export function folderSecrets(dir: string, log: Logger): SecretProvider {
  return {
    async get(namespace, name) {
      let files: string[];
      try {
        files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f));
      } catch {
        return undefined;
      }
      for (const f of files) {
        let docs: unknown[];
        try {
          docs = parseYamlDocuments(await readFile(join(dir, f), 'utf8'));
        } catch (err) {
          log.warn({ file: f, err: (err as Error).message }, 'unreadable secret file skipped');
          continue;
        }
        for (const d of docs as {
          kind?: string;
          metadata?: { name?: string; namespace?: string };
          data?: SecretData;
          stringData?: SecretData;
        }[]) {
          if (
            d?.kind !== 'Secret' ||
            d.metadata?.name !== name ||
            (d.metadata?.namespace ?? 'default') !== namespace
          )
            continue;
          return decodeSecret(d.data, d.stringData);
        }
      }
      return undefined;
    },
  };
}

/** Secrets read from the Kubernetes API (kubeconfig locally, the service account in a pod). */
export async function kubernetesSecrets(): Promise<SecretProvider> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  return {
    async get(namespace, name) {
      try {
        const s = await core.readNamespacedSecret({ namespace, name });
        return decodeSecret(s.data, s.stringData);
      } catch (err) {
        if ((err as { code?: number }).code === 404) return undefined;
        throw new AppError(
          'UNAVAILABLE',
          `cannot read secret ${namespace}/${name}: ${(err as Error).message}`,
        );
      }
    },
  };
}

function decodeSecret(data?: Record<string, string>, stringData?: Record<string, string>): SecretData {
  const out: SecretData = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  for (const [k, v] of Object.entries(stringData ?? {})) out[k] = v;
  return out;
}

export interface GitAuth {
  env: Record<string, string>;
  /** Removes any files written for this operation (ssh keys). */
  cleanup: () => Promise<void>;
}

/** Turns a secret into the environment git needs; `scheme` decides which fields are used. */
export async function gitAuth(secret: SecretData | undefined, scheme: string): Promise<GitAuth> {
  if (!secret) return { env: {}, cleanup: async () => undefined };
  if (scheme === 'http' || scheme === 'https') {
    const user = secret.username ?? (secret.token ? 'x-access-token' : undefined);
    const pass = secret.password ?? secret.token;
    if (!user || !pass)
      throw new AppError('SOURCE_INVALID', 'the secret has neither username/password nor token');
    const basic = Buffer.from(`${user}:${pass}`).toString('base64');
    return {
      env: {
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'http.extraHeader',
        GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
      },
      cleanup: async () => undefined,
    };
  }
  if (scheme === 'ssh') {
    if (!secret.identity)
      throw new AppError('SOURCE_INVALID', 'the secret has no identity (ssh private key)');
    const dir = await mkdtemp(join(tmpdir(), 'profiles-ssh-'));
    await chmod(dir, 0o700);
    const key = join(dir, 'identity');
    const hosts = join(dir, 'known_hosts');
    await writeFile(key, secret.identity.endsWith('\n') ? secret.identity : secret.identity + '\n', {
      mode: 0o600,
    });
    await writeFile(hosts, secret.known_hosts ?? '', { mode: 0o600 });
    const strict = secret.known_hosts ? 'yes' : 'no';
    return {
      env: {
        GIT_SSH_COMMAND: `ssh -i ${key} -o IdentitiesOnly=yes -o UserKnownHostsFile=${hosts} -o StrictHostKeyChecking=${strict} -o BatchMode=yes`,
      },
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  }
  return { env: {}, cleanup: async () => undefined };
}
