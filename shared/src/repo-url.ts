import { AppError, type ErrorCode } from './errors.ts';

// Repository URLs as keys: webhooks name a repository the way the git host writes it, sources the way users do.
const SCP_LIKE = /^([A-Za-z0-9._-]+@)?([A-Za-z0-9.-]+):(?!\/\/)(.+)$/;

/** The same repository written differently (`.git`, trailing slash, case of the host) compares equal. */
export function normalizeRepoUrl(url: string): string {
  let s = url.trim();
  const scp = SCP_LIKE.exec(s);
  if (scp && !s.includes('://')) s = `ssh://${scp[2]}/${scp[3]}`;
  try {
    const u = new URL(s);
    const path = u.pathname.replace(/\/+$/, '').replace(/\.git$/, '');
    const host = u.protocol === 'file:' ? '' : u.hostname.toLowerCase();
    return `${host}${path}`.toLowerCase();
  } catch {
    return s.toLowerCase();
  }
}

export interface UrlPolicy {
  /** file:// URLs (REPO_ALLOW_FILE): local runs and tests only. */
  allowFile: boolean;
  /** Hosts, or IP prefixes ending in a dot (REPO_DENY_HOSTS). */
  denyHosts: string[];
  /** Loopback addresses (REPO_ALLOW_LOOPBACK): tests and `npm start` only. */
  allowLoopback?: boolean;
  /** When not empty, the only hosts reachable (REPO_ALLOW_HOSTS): names, `*.domain`, addresses, CIDRs. */
  allowHosts?: string[];
}

/**
 * Which URLs the services may reach for a user: http(s), ssh (also `user@host:path`) and — only when allowed —
 * file://; never git remote helpers (`ext::` runs commands), option-like strings, or a host on the deny list
 * (cloud metadata endpoints by default), so a catalog source or an install request cannot make a service probe
 * its own machine or network. Names are checked as written (DNS is not resolved here).
 */
export function checkRepoUrl(
  url: string,
  policy: UrlPolicy,
  opts: { what?: string; schemes?: string[]; code?: ErrorCode } = {},
): { scheme: string; host: string } {
  const schemes = opts.schemes ?? ['http', 'https', 'ssh'];
  const refuse = (why: string): never => {
    throw new AppError(
      opts.code ?? 'BAD_REQUEST',
      `${opts.what ?? 'repository'} URL ${JSON.stringify(String(url).replace(/(\/\/)[^/@]+@/, '$1***@'))} is refused: ${why}`,
    );
  };
  if (typeof url !== 'string' || !url || url.length > 2048 || /[\s\0]/.test(url) || url.startsWith('-'))
    refuse('not a usable URL');
  if (/^[A-Za-z0-9+.-]+::/.test(url)) refuse('git remote-helper URLs are not allowed');
  let scheme = 'ssh';
  let host: string;
  const scp = SCP_LIKE.exec(url);
  if (scp && !url.includes('://')) {
    if (!schemes.includes('ssh')) refuse('expected an http(s) URL');
    host = scp[2]!;
  } else {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return refuse('not a URL');
    }
    scheme = u.protocol.replace(/:$/, '');
    if (scheme === 'file') {
      if (!policy.allowFile || !schemes.includes('ssh'))
        refuse('file:// repositories are disabled (REPO_ALLOW_FILE)');
      return { scheme, host: '' };
    }
    if (!schemes.includes(scheme)) refuse(`scheme ${scheme} is not one of ${schemes.join(', ')}`);
    host = u.hostname;
  }
  // `metadata.google.internal.` is the same name as without its trailing dot.
  const h = host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.+$/, '');
  for (const d of policy.denyHosts.map((x) => x.toLowerCase())) {
    if (d.endsWith('.') ? h.startsWith(d) : h === d)
      refuse(`host ${h} is on the deny list (REPO_DENY_HOSTS)`);
  }
  return { scheme, host: h };
}
