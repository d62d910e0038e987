import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { parseYamlDocuments } from '../yaml.ts';

/** The decoded keys of a Secret (`data` base64-decoded, `stringData` as is). */
export type SecretData = Record<string, string>;

/** A Secret by namespace and name. */
export interface SecretKey {
  namespace: string;
  name: string;
}

/**
 * Where the services read the Secrets that `secretRef`s name: a folder of Secret YAML (local runs) or the
 * Kubernetes API (`SECRETS_SOURCE`). `undefined`: no such secret.
 */
export interface SecretProvider {
  get(key: SecretKey): Promise<SecretData | undefined>;
}

export const noSecrets: SecretProvider = { get: async () => undefined };

interface SecretDoc {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  data?: SecretData;
  stringData?: SecretData;
}

/** Secrets as `kind: Secret` YAML files in a folder, read on every call (edits apply at once). */
export function folderSecrets(dir: string, log?: Logger): SecretProvider {
  return {
    async get({ namespace, name }) {
      const files = dir ? await readdir(dir).catch(() => [] as string[]) : [];
      for (const f of files.filter((n) => /\.ya?ml$/.test(n))) {
        let docs: unknown[];
        try {
          docs = parseYamlDocuments(await readFile(join(dir, f), 'utf8'));
        } catch (err) {
          log?.warn({ file: f, err: (err as Error).message }, 'unreadable secret file skipped');
          continue;
        }
        for (const d of docs as SecretDoc[]) {
          if (d?.kind !== 'Secret' || d.metadata?.name !== name) continue;
          if ((d.metadata.namespace ?? 'default') !== namespace) continue;
          return decodeSecret(d.data, d.stringData);
        }
      }
      return undefined;
    },
  };
}

/** Secrets read from the Kubernetes API (a kubeconfig file, else the default: the pod's service account). */
export async function kubernetesSecrets(kubeconfigPath?: string): Promise<SecretProvider> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else kc.loadFromDefault();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  return {
    async get({ namespace, name }) {
      try {
        const s = await core.readNamespacedSecret({ namespace, name });
        return decodeSecret(s.data, s.stringData);
      } catch (err) {
        if ((err as { code?: number }).code === 404) return undefined;
        throw new AppError('UNAVAILABLE', `cannot read secrets from the Kubernetes API`, { cause: err });
      }
    },
  };
}

/** The provider `SECRETS_SOURCE` names. */
export async function secretProvider(
  config: { secretsSource: 'none' | 'folder' | 'kubernetes'; secretsDir: string; kubeconfig?: string },
  log?: Logger,
): Promise<SecretProvider> {
  if (config.secretsSource === 'kubernetes') return kubernetesSecrets(config.kubeconfig);
  if (config.secretsSource === 'folder') return folderSecrets(config.secretsDir, log);
  return noSecrets;
}

function decodeSecret(data?: Record<string, string>, stringData?: Record<string, string>): SecretData {
  const out: SecretData = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  for (const [k, v] of Object.entries(stringData ?? {})) out[k] = v;
  return out;
}
