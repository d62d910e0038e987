import type { AuthConfig } from '@profiles/shared';
import { Authenticator, type TokenReviewer } from './authenticate.ts';
import { OidcVerifier } from './oidc.ts';
import { WritePolicy } from './policy.ts';
import { StaticTokens } from './static-tokens.ts';
import type { AccessReviewer } from './visibility.ts';

/** What the app needs to authenticate and authorize (see buildApp). */
export interface ApiAuth {
  authenticator: Authenticator;
  defaultAccess: AuthConfig['defaultAccess'];
  policy: WritePolicy;
  /** RBAC mode: visibility by SubjectAccessReview instead of spec.access. */
  rbac?: AccessReviewer | undefined;
}

/** An open API: anonymous callers see and may do everything (npm start's default; tests that are not about auth). */
export function openAuth(): ApiAuth {
  return {
    authenticator: new Authenticator({ anonymous: 'open' }),
    defaultAccess: 'public',
    policy: new WritePolicy(),
  };
}

/** The API's authentication and authorization from its configuration (kubernetes parts passed in by main). */
export function authFromConfig(
  config: AuthConfig,
  kube: { tokenReview?: TokenReviewer; rbac?: AccessReviewer } = {},
): ApiAuth {
  return {
    authenticator: new Authenticator({
      anonymous: config.anonymous,
      tokens: config.tokensFile ? StaticTokens.fromFile(config.tokensFile) : undefined,
      oidc: config.oidc ? new OidcVerifier(config.oidc) : undefined,
      kubernetes: config.kubernetes ? kube.tokenReview : undefined,
    }),
    defaultAccess: config.defaultAccess,
    policy: WritePolicy.fromFile(config.policyFile),
    rbac: config.accessMode === 'rbac' ? kube.rbac : undefined,
  };
}
