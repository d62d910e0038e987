import { AppError } from '@profiles/shared';

export { normalizeRepoUrl } from '@profiles/shared';

/**
 * Which repository URLs the indexer may fetch. Only http(s), ssh (also `user@host:path`) and — when allowed —
 * file URLs; never hosts on the deny list (cloud metadata endpoints by default), so a catalog source cannot
 * make the indexer probe internal addresses. Names are checked as written (DNS is not resolved here).
 */
export interface UrlPolicy {
  allowFile: boolean;
  denyHosts: string[];
}

export const SCP_LIKE = /^([A-Za-z0-9._-]+@)?([A-Za-z0-9.-]+):(?!\/\/)(.+)$/;

export function checkRepoUrl(
  url: string,
  policy: UrlPolicy,
): { scheme: 'http' | 'https' | 'ssh' | 'file'; host: string } {
  const refuse = (why: string): never => {
    throw new AppError(
      'SOURCE_INVALID',
      `repository URL ${JSON.stringify(redactUrl(url))} is refused: ${why}`,
    );
  };
  if (typeof url !== 'string' || url.length === 0 || url.length > 2048) refuse('expected a URL');
  if (/[\s\0]/.test(url) || url.startsWith('-')) refuse('it contains whitespace or starts with "-"');
  const scp = SCP_LIKE.exec(url);
  if (scp && !url.includes('://')) return { scheme: 'ssh', host: checkHost(scp[2]!, policy, refuse) };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return refuse('not a URL');
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (scheme === 'file') {
    if (!policy.allowFile) refuse('file:// repositories are disabled (REPO_ALLOW_FILE)');
    return { scheme: 'file', host: '' };
  }
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'ssh')
    refuse(`scheme ${scheme} is not http, https, ssh or file`);
  return { scheme: scheme as 'http' | 'https' | 'ssh', host: checkHost(u.hostname, policy, refuse) };
}

function checkHost(host: string, policy: UrlPolicy, refuse: (why: string) => never): string {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  for (const d of policy.denyHosts) {
    const deny = d.toLowerCase();
    if (deny.endsWith('.') ? h.startsWith(deny) : h === deny)
      refuse(`host ${h} is on the deny list (REPO_DENY_HOSTS)`);
  }
  return h;
}

export function redactUrl(url: string): string {
  return url.replace(/(\/\/)[^/@]+@/, '$1***@');
}
