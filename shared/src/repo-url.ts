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
