/**
 * The one redaction of text that can carry a URL or a credential (git's stderr, error messages, statuses,
 * logs): `user:password@` in URLs and HTTP Authorization values are masked.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@')
    .replace(/(authorization:\s*(?:basic|bearer|token)\s+)[^\s'"]+/gi, '$1***');
}

/** A URL for a message: its userinfo masked. */
export function redactUrl(url: string): string {
  return redactSecrets(url);
}
