import { AppError } from '@profiles/shared';

/**
 * Which URLs the installer may reach (profile and target repositories, pull-request APIs): http(s), ssh (also
 * `user@host:path`) and — only when allowed (REPO_ALLOW_FILE, the indexer's switch) — file://; never a host on
 * REPO_DENY_HOSTS (cloud metadata endpoints by default). Requests name URLs, so this keeps them from probing
 * the installer's own machine or network.
 */
export interface UrlPolicy {
  allowFile: boolean;
  denyHosts: string[];
}

const SCP_LIKE = /^([A-Za-z0-9._-]+@)?([A-Za-z0-9.-]+):(?!\/\/)(.+)$/;

export function checkUrl(
  url: string,
  policy: UrlPolicy,
  what: string,
  schemes = ['http', 'https', 'ssh'],
): void {
  const refuse = (why: string): never => {
    throw new AppError(
      'BAD_REQUEST',
      `${what} URL ${JSON.stringify(url.replace(/(\/\/)[^/@]+@/, '$1***@'))} is refused: ${why}`,
    );
  };
  if (!url || url.length > 2048 || /[\s\0]/.test(url) || url.startsWith('-')) refuse('not a usable URL');
  // `<transport>::<address>` selects a git remote helper (ext:: runs commands): never from a request.
  if (/^[A-Za-z0-9+.-]+::/.test(url)) refuse('git remote-helper URLs are not allowed');
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
    const scheme = u.protocol.replace(/:$/, '');
    if (scheme === 'file') {
      if (!policy.allowFile || !schemes.includes('ssh'))
        refuse('file:// repositories are disabled (REPO_ALLOW_FILE)');
      return;
    }
    if (!schemes.includes(scheme)) refuse(`scheme ${scheme} is not one of ${schemes.join(', ')}`);
    host = u.hostname;
  }
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  for (const d of policy.denyHosts.map((x) => x.toLowerCase())) {
    if (d.endsWith('.') ? h.startsWith(d) : h === d)
      refuse(`host ${h} is on the deny list (REPO_DENY_HOSTS)`);
  }
}
