/** Who a request comes from, once its credential was checked (or none was given and anonymous is allowed). */
export interface Identity {
  user: string;
  groups: readonly string[];
  /** How it was established. */
  via: 'oidc' | 'kubernetes' | 'token' | 'anonymous';
  /** Anonymous in an open API (`AUTH_ANONYMOUS=open`, npm start): sees and may do everything. */
  open?: boolean;
}

export const ANONYMOUS_USER = 'system:anonymous';
export const ANONYMOUS_GROUP = 'system:unauthenticated';

const keys = new WeakMap<Identity, string>();

/**
 * Identities with the same user and groups see the same: the key of caches per identity. Remembered per
 * identity object (the authenticator hands out the same object for a token it verified before).
 */
export function identityKey(id: Identity): string {
  let key = keys.get(id);
  if (key === undefined) {
    key = `${id.open ? 'open' : id.via === 'anonymous' ? 'anon' : 'user'}\u0000${id.user}\u0000${id.groups.join('\u0000')}`;
    keys.set(id, key);
  }
  return key;
}

/** Whether a subject list (users and groups, `*` for any authenticated caller) names the identity. */
export function matchesSubjects(
  id: Identity,
  s: { users?: readonly string[]; groups?: readonly string[] },
): boolean {
  if (id.via === 'anonymous') return false; // rules never name anonymous callers: writes are never anonymous
  if (s.users?.includes('*') || s.users?.includes(id.user)) return true;
  return id.groups.some((g) => s.groups?.includes(g));
}
