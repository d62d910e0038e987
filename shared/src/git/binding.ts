import type { SecretData } from './secrets.ts';

/**
 * A secret is bound to the repositories it is for, as Flux and Argo CD bind repository credentials: its
 * `repositories` key lists URL prefixes (one per line or comma separated), e.g.
 * `https://git.example.com/team-a/`. A URL may use the secret only when scheme and host (with port) are the same
 * and its path is the prefix's path or below it (whole segments). A secret without the key is for nothing.
 */
export const BINDING_KEY = 'repositories';

interface Location {
  scheme: string;
  host: string;
  path: string[];
}

const SCP_LIKE = /^(?:[A-Za-z0-9._-]+@)?([A-Za-z0-9.-]+):(?!\/\/)(.*)$/;

function locate(url: string): Location | undefined {
  const trimmed = url.trim();
  const scp = SCP_LIKE.exec(trimmed);
  const s = scp && !trimmed.includes('://') ? `ssh://${scp[1]}/${scp[2]}` : trimmed;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return undefined;
  }
  const path = decodeURIComponent(u.pathname)
    .replace(/\.git\/?$/, '')
    .split('/')
    .filter(Boolean);
  return { scheme: u.protocol.replace(/:$/, ''), host: u.host.toLowerCase().replace(/\.$/, ''), path };
}

/** The URL prefixes a secret lists (empty: it may not be used). */
export function boundPrefixes(secret: SecretData): string[] {
  return (secret[BINDING_KEY] ?? '')
    .split(/[\n,]/)
    .map((p) => p.trim())
    .filter(Boolean);
}

/** Whether `url` is one of the repositories `secret` is bound to. */
export function secretAllows(secret: SecretData, url: string): boolean {
  const target = locate(url);
  if (!target) return false;
  return boundPrefixes(secret).some((p) => {
    const prefix = locate(p);
    return (
      !!prefix &&
      prefix.scheme === target.scheme &&
      prefix.host === target.host &&
      prefix.path.length <= target.path.length &&
      prefix.path.every((seg, i) => seg === target.path[i])
    );
  });
}
