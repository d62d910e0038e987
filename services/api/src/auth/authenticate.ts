import { AppError, type AuthConfig } from '@profiles/shared';
import { ANONYMOUS_GROUP, ANONYMOUS_USER, type Identity } from './identity.ts';
import { unverifiedIssuer, type OidcVerifier } from './oidc.ts';
import type { StaticTokens } from './static-tokens.ts';

/** Checks a Kubernetes token (TokenReview): its identity, or undefined when the cluster does not know it. */
export interface TokenReviewer {
  review(token: string): Promise<{ identity: Identity; expiresAt: number } | undefined>;
}

export interface AuthenticatorDeps {
  anonymous: AuthConfig['anonymous'];
  tokens?: StaticTokens | undefined;
  oidc?: OidcVerifier | undefined;
  kubernetes?: TokenReviewer | undefined;
}

/** Verified tokens remembered at most, and for at most this long (within their own expiry). */
const CACHE_MAX = 10_000;
const CACHE_MS = 60_000;

const unauthorized = (message: string) =>
  new AppError('UNAUTHORIZED', message, { details: { parameter: 'Authorization' } });

/**
 * Turns a request's `Authorization: Bearer` header into an Identity: a static token, else an OIDC JWT of the
 * configured issuer, else (kubernetes mode) a Kubernetes token by TokenReview. Without a header the caller is
 * anonymous if AUTH_ANONYMOUS allows it, refused (401) otherwise. A verified token is remembered until it
 * expires (at most a minute), so the read path pays one Map lookup per request, not a signature check.
 */
export class Authenticator {
  private readonly verified = new Map<string, { identity: Identity; until: number }>();
  private readonly anonymousIdentity: Identity | undefined;

  constructor(private readonly deps: AuthenticatorDeps) {
    this.anonymousIdentity =
      deps.anonymous === 'off'
        ? undefined
        : {
            user: ANONYMOUS_USER,
            groups: [ANONYMOUS_GROUP],
            via: 'anonymous',
            ...(deps.anonymous === 'open' ? { open: true } : {}),
          };
  }

  /** The identity when it is known without waiting (no header, or a token verified before); else undefined. */
  known(header: string | undefined): Identity | undefined {
    if (header === undefined) return this.anonymousIdentity;
    const hit = this.verified.get(header);
    if (hit && hit.until > Date.now()) return hit.identity;
    return undefined;
  }

  async identify(header: string | undefined): Promise<Identity> {
    const known = this.known(header);
    if (known) return known;
    if (header === undefined)
      throw unauthorized('authentication required: send Authorization: Bearer <token>');
    const m = /^Bearer +([^\s]+) *$/i.exec(header);
    if (!m) throw unauthorized('the Authorization header must be "Bearer <token>"');
    const token = m[1]!;
    const { identity, expiresAt } = await this.check(token);
    if (this.verified.size >= CACHE_MAX) this.verified.clear();
    this.verified.set(header, { identity, until: Math.min(expiresAt, Date.now() + CACHE_MS) });
    return identity;
  }

  private async check(token: string): Promise<{ identity: Identity; expiresAt: number }> {
    const listed = this.deps.tokens?.lookup(token);
    if (listed) return { identity: listed, expiresAt: Date.now() + CACHE_MS };
    const iss = unverifiedIssuer(token);
    if (this.deps.oidc && iss === this.deps.oidc.issuer) return this.deps.oidc.verify(token);
    const reviewed = this.deps.kubernetes ? await this.deps.kubernetes.review(token) : undefined;
    if (reviewed) return reviewed;
    if (iss !== undefined && this.deps.oidc && !this.deps.kubernetes)
      throw unauthorized('token refused: its issuer is not accepted');
    throw unauthorized('token refused: it is not known to any configured authenticator');
  }
}
