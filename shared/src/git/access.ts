import { AppError, type ErrorCode } from '../errors.ts';
import { checkRepoUrl, type UrlPolicy } from '../repo-url.ts';
import { gitCredentials, type GitCredentials } from './credentials.ts';
import { emptyGitEnv, type GitEnv } from './run.ts';
import type { SecretData, SecretKey, SecretProvider } from './secrets.ts';

export interface GitAccessOptions {
  secrets: SecretProvider;
  policy: UrlPolicy;
  /** Config every call carries (GIT_URL_REWRITES as `insteadOf`). */
  base?: GitEnv;
  /** The operator's known_hosts file (GIT_SSH_KNOWN_HOSTS), trusted for every ssh host. */
  knownHostsFile?: string | undefined;
  /** The error code of a refusal: the indexer reports source errors, the installer bad requests. */
  code: ErrorCode;
  /** The namespace of a `secretRef` that names none (the installer: `default`; the indexer: the source's). */
  defaultNamespace?: string;
}

/** A `secretRef` as users write it. */
export interface SecretRefLike {
  name: string;
  namespace?: string | undefined;
}

/**
 * How the indexer and the installer reach a repository a user named: the URL policy first, then the secret a
 * `secretRef` names, then the environment git needs for it (see `gitCredentials`). Callers run git with the
 * returned env and call `cleanup` afterwards.
 */
export class GitAccess {
  readonly base: GitEnv;

  constructor(private readonly o: GitAccessOptions) {
    this.base = o.base ?? emptyGitEnv;
  }

  /** Refuses a URL the policy does not allow (the refusal names `what`). */
  check(url: string, what = 'repository', schemes?: string[]): { scheme: string; host: string } {
    return checkRepoUrl(url, this.o.policy, { what, code: this.o.code, ...(schemes ? { schemes } : {}) });
  }

  private key(ref: SecretRefLike): SecretKey {
    return { namespace: ref.namespace || this.o.defaultNamespace || 'default', name: ref.name };
  }

  /** The decoded secret; a missing one is an error naming the reference. */
  async secret(ref: SecretRefLike): Promise<SecretData> {
    const key = this.key(ref);
    const s = await this.o.secrets.get(key);
    if (!s)
      throw new AppError(this.o.code, `secret ${key.namespace}/${key.name} (secretRef) not found`, {
        details: { secretRef: key },
      });
    return s;
  }

  /** Checks `url` and builds the credentials of `key` (none without a key) for git calls to it. */
  async open(url: string, ref: SecretRefLike | undefined, what = 'repository'): Promise<GitCredentials> {
    const { scheme } = this.check(url, what);
    // As the user, git without a secret uses their own ssh agent and known hosts.
    if (!ref && this.base.asUser) return { env: this.base, cleanup: async () => undefined };
    const key = ref ? this.key(ref) : undefined;
    const secret = ref ? await this.secret(ref) : undefined;
    return gitCredentials(secret, scheme, this.base, {
      knownHostsFile: this.o.knownHostsFile,
      code: this.o.code,
      what: key ? `secret ${key.namespace}/${key.name}` : 'the secret',
    });
  }

  /** `open`, run `fn` with the env, clean up. */
  async with<T>(
    url: string,
    ref: SecretRefLike | undefined,
    fn: (env: GitEnv) => Promise<T>,
    what = 'repository',
  ): Promise<T> {
    const creds = await this.open(url, ref, what);
    try {
      return await fn(creds.env);
    } finally {
      await creds.cleanup();
    }
  }
}
