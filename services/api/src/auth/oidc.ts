import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import { AppError, type AuthConfig } from '@profiles/shared';
import type { Identity } from './identity.ts';

type OidcConfig = NonNullable<AuthConfig['oidc']>;

/** Asymmetric algorithms only: `none` and HMAC (a key the issuer shares with everyone) are refused. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];

/** The `iss` of a JWT without verifying it (to pick the verifier), or undefined when it is not a JWT. */
export function unverifiedIssuer(token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/**
 * OIDC bearer tokens (Dex, Keycloak, cloud identity providers): JWTs verified with jose against the issuer's
 * JWKS — signature, `iss`, `aud`, `exp`/`nbf` with the configured clock skew. The JWKS is fetched on first use
 * and again when a token names a key id it does not hold (key rotation; at most once per `cooldownMs`), so a
 * rotated-out key stops working once the new set is fetched.
 */
export class OidcVerifier {
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(
    private readonly config: OidcConfig,
    private readonly options: { cooldownMs?: number } = {},
  ) {}

  get issuer(): string {
    return this.config.issuer;
  }

  private async keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.jwks) return this.jwks;
    let url = this.config.jwksUrl;
    if (!url) {
      const base = this.config.issuer.replace(/\/$/, '');
      const res = await fetch(`${base}/.well-known/openid-configuration`, { redirect: 'error' });
      const doc = res.ok ? ((await res.json()) as { jwks_uri?: unknown }) : {};
      if (typeof doc.jwks_uri !== 'string')
        throw new AppError('UNAVAILABLE', 'the OIDC issuer publishes no jwks_uri; set OIDC_JWKS_URL');
      url = doc.jwks_uri;
    }
    this.jwks = createRemoteJWKSet(new URL(url), {
      cooldownDuration: this.options.cooldownMs ?? 30_000,
      cacheMaxAge: 10 * 60_000,
    });
    return this.jwks;
  }

  /** The identity in a valid token; a 401 naming what is wrong otherwise (never the token). */
  async verify(token: string): Promise<{ identity: Identity; expiresAt: number }> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await this.keySet(), {
        issuer: this.config.issuer,
        audience: this.config.audience,
        clockTolerance: this.config.clockSkewSeconds,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      throw new AppError('UNAUTHORIZED', `OIDC token refused: ${reason(err)}`, {
        details: { parameter: 'Authorization' },
      });
    }
    const user = payload[this.config.userClaim];
    if (typeof user !== 'string' || !user)
      throw new AppError('UNAUTHORIZED', `OIDC token refused: it has no ${this.config.userClaim} claim`, {
        details: { parameter: 'Authorization' },
      });
    const raw = payload[this.config.groupsClaim];
    const groups = Array.isArray(raw) ? raw.filter((g): g is string => typeof g === 'string') : [];
    return { identity: { user, groups, via: 'oidc' }, expiresAt: (payload.exp ?? 0) * 1000 };
  }
}

function reason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'it has expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `its ${err.claim} claim is not accepted`;
  if (err instanceof errors.JOSEAlgNotAllowed) return 'its algorithm is not accepted';
  if (err instanceof errors.JWKSNoMatchingKey) return 'no key of the issuer matches its signature';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'its signature does not verify';
  if (err instanceof errors.JWKSTimeout || err instanceof AppError) return 'the issuer keys are unavailable';
  return 'it is not a valid signed JWT';
}
