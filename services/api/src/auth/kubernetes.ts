import * as k8s from '@kubernetes/client-node';
import { AppError, parseSourceId } from '@profiles/shared';
import type { TokenReviewer } from './authenticate.ts';
import type { Identity } from './identity.ts';
import type { AccessReviewer } from './visibility.ts';

/** How long a TokenReview answer is trusted (the token is asked about again after that). */
const REVIEW_MS = 60_000;

/** The API's Kubernetes client config: an explicit kubeconfig file, else KUBECONFIG / ~/.kube/config / in-cluster. */
export function kubeConfig(path?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

/**
 * Kubernetes tokens (service accounts, cluster users) checked with TokenReview by the API's own credentials
 * (it needs `create` on tokenreviews). An unauthenticated answer is undefined: the token is not the cluster's.
 */
export class KubeTokenReviewer implements TokenReviewer {
  private readonly api: k8s.AuthenticationV1Api;

  constructor(kc: k8s.KubeConfig) {
    this.api = kc.makeApiClient(k8s.AuthenticationV1Api);
  }

  async review(token: string): Promise<{ identity: Identity; expiresAt: number } | undefined> {
    let res: k8s.V1TokenReview;
    try {
      res = await this.api.createTokenReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      });
    } catch {
      throw new AppError('UNAVAILABLE', 'the Kubernetes API did not answer a TokenReview; retry shortly');
    }
    const st = res.status;
    if (!st?.authenticated || !st.user?.username) return undefined;
    return {
      identity: { user: st.user.username, groups: st.user.groups ?? [], via: 'kubernetes' },
      expiresAt: Date.now() + REVIEW_MS,
    };
  }
}

/**
 * RBAC mode: a caller sees a source it may `get` (ProfileCatalogSource, its namespace), asked with a
 * SubjectAccessReview (the API needs `create` on subjectaccessreviews). Visibility caches the answers briefly.
 */
export class KubeAccessReviewer implements AccessReviewer {
  private readonly api: k8s.AuthorizationV1Api;

  constructor(kc: k8s.KubeConfig) {
    this.api = kc.makeApiClient(k8s.AuthorizationV1Api);
  }

  async canGet(identity: Identity, sourceId: string): Promise<boolean> {
    const ref = parseSourceId(sourceId);
    if (!ref) return false;
    const res = await this.api.createSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: identity.user,
          groups: [...identity.groups],
          resourceAttributes: {
            group: 'weave.works',
            resource: 'profilecatalogsources',
            verb: 'get',
            namespace: ref.namespace,
            name: ref.name,
          },
        },
      },
    });
    return res.status?.allowed === true;
  }
}
