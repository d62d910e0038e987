import { AppError, type ErrorCode } from '../errors.ts';
import { redactUrl } from '../redact.ts';
import { checkRepoUrl, type UrlPolicy } from '../repo-url.ts';
import type { LookupFunction } from 'node:net';
import { policyLookup, resolveHost } from './address-policy.ts';
import { BINDING_KEY, secretAllows } from './binding.ts';
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
  /** Name resolution (default: the system's, `dns.lookup`); tests give their own. */
  resolve?: (host: string) => Promise<string[]>;
  /** Told why a URL was refused (for the service's log; the caller only hears "unreachable"). */
  onRefused?: (url: string, why: string) => void;
}

const UNREACHABLE = 'could not connect to the server';

function portOf(url: string, scheme: string): string {
  try {
    const p = new URL(url).port;
    if (p) return p;
  } catch {
    /* scp-like: ssh */
  }
  return scheme === 'http' ? '80' : scheme === 'https' ? '443' : '22';
}

interface Judged {
  scheme: string;
  host: string;
  port: string;
  addresses: string[];
}

/** git's curl told to connect http(s) to the judged addresses only (a second DNS answer is never used). */
function curlPin(j: Judged): [string, string][] {
  if (!j.addresses.length || (j.scheme !== 'http' && j.scheme !== 'https')) return [];
  const pinned = j.addresses.map((a) => (a.includes(':') ? `[${a}]` : a)).join(',');
  return [['http.curloptResolve', `${j.host.replace(/^\[|\]$/g, '')}:${j.port}:${pinned}`]];
}

/** The name known_hosts lists the host under: `host`, or `[host]:port` off port 22. */
function hostKeyAlias(j: Judged): string {
  const bare = j.host.replace(/^\[|\]$/g, '');
  return j.port === '22' ? bare : `[${bare}]:${j.port}`;
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

  /**
   * The decoded secret, if it is bound to `url` (see `binding.ts`). A secret that does not exist and one that
   * is not for this URL get the same answer, so a caller learns nothing about which secrets exist.
   */
  async secret(ref: SecretRefLike, url: string): Promise<SecretData> {
    const key = this.key(ref);
    const s = await this.o.secrets.get(key);
    if (!s || !secretAllows(s, url))
      throw new AppError(
        this.o.code,
        `secret ${key.namespace}/${key.name} (secretRef) is not available for ${redactUrl(url)}: no such secret, ` +
          `or its "${BINDING_KEY}" key does not list this repository`,
        { details: { secretRef: key } },
      );
    return s;
  }

  /**
   * The URL policy on the address the URL's host resolves to (see `address-policy.ts`); returns the git config
   * that pins http(s) connections to the addresses checked, so a second DNS answer cannot send git elsewhere.
   * A refusal reads like an unreachable server: a caller cannot tell a refused address from a closed port.
   */
  async reach(url: string, what = 'repository', schemes?: string[]): Promise<[string, string][]> {
    return curlPin(await this.judge(url, what, schemes));
  }

  private async judge(url: string, what: string, schemes?: string[]): Promise<Judged> {
    const { scheme, host } = this.check(url, what, schemes);
    const port = portOf(url, scheme);
    if (scheme === 'file' || !host) return { scheme, host, port, addresses: [] };
    const r = await resolveHost(host, this.o.policy, this.o.resolve);
    if ('refused' in r) {
      this.o.onRefused?.(redactUrl(url), r.refused);
      throw new AppError('GIT_FAILED', `${what} ${redactUrl(url)} is unreachable: ${UNREACHABLE}`);
    }
    return { scheme, host, port, addresses: r.addresses };
  }

  /**
   * A `lookup` for HTTP calls the policy governs (pull-request APIs): each connection's own DNS answer is judged,
   * so the address checked is the address connected to.
   */
  lookup(): LookupFunction {
    return policyLookup(this.o.policy, this.o.resolve, (host, why) => this.o.onRefused?.(host, why));
  }

  /** Checks `url` and builds the credentials of `key` (none without a key) for git calls to it. */
  async open(url: string, ref: SecretRefLike | undefined, what = 'repository'): Promise<GitCredentials> {
    const { scheme } = this.check(url, what);
    const j = this.base.asUser ? undefined : await this.judge(url, what);
    const pin = j ? curlPin(j) : [];
    // ssh resolves the name again itself: it is told the address judged (HostName), and checks the host key
    // under the name the URL gives (HostKeyAlias), as known_hosts lists it.
    const sshPin =
      scheme === 'ssh' && j?.addresses[0] ? { address: j.addresses[0], alias: hostKeyAlias(j) } : undefined;
    // As the user, git without a secret uses their own ssh agent and known hosts.
    if (!ref && this.base.asUser) return { env: this.base, cleanup: async () => undefined };
    const key = ref ? this.key(ref) : undefined;
    const secret = ref ? await this.secret(ref, url) : undefined;
    const base = pin.length ? { ...this.base, config: [...this.base.config, ...pin] } : this.base;
    return gitCredentials(secret, scheme, base, {
      knownHostsFile: this.o.knownHostsFile,
      code: this.o.code,
      what: key ? `secret ${key.namespace}/${key.name}` : 'the secret',
      ...(sshPin ? { pin: sshPin } : {}),
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
